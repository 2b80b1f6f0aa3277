import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { errorText } from '../api/client';
import { AuthLayout, FormError } from './AuthLayout';
import { Field } from './Field';
import { needsSecondFactor, signIn, useSignedIn, useSetup } from './session';

export function SignInPage() {
  const navigate = useNavigate();
  const signedIn = useSignedIn();
  const setup = useSetup();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [step, setStep] = useState<'password' | 'code' | 'recovery'>('password');

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '');
    setBusy(true);
    setError(null);
    try {
      await signIn({
        login: text('login'),
        password: text('password'),
        totp_code: step === 'code' ? text('code').replace(/\s/g, '') : undefined,
        recovery_code: step === 'recovery' ? text('recovery').trim() : undefined,
      });
      await signedIn();
      navigate('/chat');
    } catch (caught) {
      const message = errorText(caught);
      if (step === 'password' && needsSecondFactor(message)) setStep('code');
      else setError(message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthLayout title="Sign in">
      <form onSubmit={submit} className="stack">
        <div hidden={step !== 'password'} className="stack">
          <Field label="Email or username" name="login" autoComplete="username" required autoFocus />
          <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        </div>
        {step === 'code' && (
          <>
            <p>Two-factor authentication is on for this account.</p>
            <Field label="Code from your authenticator app" name="code" inputMode="numeric" autoComplete="one-time-code" required autoFocus />
            <button type="button" className="link" onClick={() => setStep('recovery')}>
              Use a recovery code instead
            </button>
          </>
        )}
        {step === 'recovery' && (
          <Field label="Recovery code" name="recovery" autoComplete="off" required autoFocus hint="Each recovery code works once." />
        )}
        <FormError message={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="auth-links">
        <Link to="/forgot">Forgot your password?</Link>
        {setup.data?.signup !== 'closed' && <Link to="/signup">Create an account</Link>}
      </p>
    </AuthLayout>
  );
}
