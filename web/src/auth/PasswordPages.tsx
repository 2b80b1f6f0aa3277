import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, errorText, must } from '../api/client';
import { AuthLayout, FormError } from './AuthLayout';
import { Field } from './Field';

export function ForgotPage() {
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const email = String(new FormData(event.currentTarget).get('email') ?? '').trim();
    try {
      await must(api.POST('/api/v1/auth/password/forgot', { body: { email } }));
      setSent(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <AuthLayout title="Forgot your password?">
      {sent ? (
        <p role="status">If an account has this address, a message with a reset code is on its way. The code works for 30 minutes.</p>
      ) : (
        <form onSubmit={submit} className="stack">
          <Field label="Email" name="email" type="email" autoComplete="email" required />
          <FormError message={error} />
          <button type="submit" className="primary">
            Send reset code
          </button>
        </form>
      )}
      <p className="auth-links">
        <Link to="/reset">I have a reset code</Link>
        <Link to="/signin">Back to sign in</Link>
      </p>
    </AuthLayout>
  );
}

export function ResetPage() {
  const [params] = useSearchParams();
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    try {
      await must(
        api.POST('/api/v1/auth/password/reset', {
          body: { token: String(form.get('token') ?? '').trim(), new_password: String(form.get('password') ?? '') },
        }),
      );
      setDone(true);
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <AuthLayout title="Choose a new password">
      {done ? (
        <p role="status">
          Your password was changed and every session was signed out. <Link to="/signin">Sign in</Link>
        </p>
      ) : (
        <form onSubmit={submit} className="stack">
          <Field label="Reset code" name="token" defaultValue={params.get('token') ?? ''} required autoComplete="off" />
          <Field label="New password" name="password" type="password" autoComplete="new-password" required minLength={8} maxLength={128} />
          <FormError message={error} />
          <button type="submit" className="primary">
            Change password
          </button>
        </form>
      )}
    </AuthLayout>
  );
}
