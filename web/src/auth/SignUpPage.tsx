import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { errorText } from '../api/client';
import { AccountFields, registerAccount } from './AccountFields';
import { AuthLayout, FormError } from './AuthLayout';

export function SignUpPage() {
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const made = await registerAccount(form);
      setStatus(made.status);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  if (status) {
    return (
      <AuthLayout title={status === 'active' ? 'Account created' : 'Waiting for approval'}>
        <p role="status">
          {status === 'active'
            ? 'Your account is ready.'
            : 'Your account was created. An administrator must approve it before you can sign in.'}
        </p>
        <Link to="/signin">Go to sign in</Link>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Create an account">
      <form onSubmit={submit} className="stack">
        <AccountFields />
        <FormError message={error} />
        <button type="submit" className="primary" disabled={busy}>
          Create account
        </button>
      </form>
      <p className="auth-links">
        <Link to="/signin">I have an account</Link>
      </p>
    </AuthLayout>
  );
}
