import { api, must } from '../api/client';
import { Field } from './Field';

/** The fields of a new account, shared by the first run and sign-up. */
export function AccountFields() {
  return (
    <>
      <Field label="Your name" name="name" autoComplete="name" />
      <Field label="Email" name="email" type="email" autoComplete="email" required />
      <Field
        label="Username"
        name="username"
        autoComplete="username"
        required
        pattern="[a-z0-9._\-]{3,30}"
        hint="3–30 characters: a–z, 0–9, dot, underscore, hyphen."
      />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        maxLength={128}
        hint="At least 8 characters."
      />
    </>
  );
}

/** Registers the account that `form` (of AccountFields) describes. */
export async function registerAccount(form: FormData) {
  const text = (name: string) => String(form.get(name) ?? '').trim();
  return must(
    api.POST('/api/v1/auth/register', {
      body: { email: text('email'), username: text('username'), name: text('name') || null, password: String(form.get('password') ?? '') },
    }),
  );
}
