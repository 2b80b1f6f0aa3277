import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, errorText, must } from '../api/client';
import { Field } from '../auth/Field';
import { FormError } from '../auth/AuthLayout';
import type { Me } from '../auth/session';
import { applyTheme, storedTheme, type Theme } from '../theme';
import { ApiKeysSection } from './ApiKeysSection';
import { TwoFactorSection } from './TwoFactorSection';

export function SettingsPage({ me }: { me: Me }) {
  return (
    <div className="page settings">
      <h1>Settings</h1>
      <ThemeSection />
      <ProfileSection me={me} />
      <PasswordSection />
      <SessionsSection />
      <TwoFactorSection />
      <ApiKeysSection me={me} />
    </div>
  );
}

function ThemeSection() {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const choose = (value: Theme) => {
    setTheme(value);
    applyTheme(value);
    void api.PATCH('/api/v1/me/settings', { body: { theme: value } });
  };
  return (
    <section aria-labelledby="theme-title" className="card">
      <h2 id="theme-title">Theme</h2>
      <fieldset className="segmented">
        <legend className="visually-hidden">Theme</legend>
        {(['light', 'dark', 'system'] as const).map((value) => (
          <label key={value}>
            <input type="radio" name="theme" value={value} checked={theme === value} onChange={() => choose(value)} />
            {value === 'system' ? 'System' : value === 'light' ? 'Light' : 'Dark'}
          </label>
        ))}
      </fieldset>
    </section>
  );
}

function ProfileSection({ me }: { me: Me }) {
  return (
    <section aria-labelledby="profile-title" className="card">
      <h2 id="profile-title">Account</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{me.user.name ?? '—'}</dd>
        <dt>Username</dt>
        <dd>{me.user.username}</dd>
        <dt>Email</dt>
        <dd>{me.user.email}</dd>
        <dt>Organization</dt>
        <dd>{me.tenant.name}</dd>
      </dl>
    </section>
  );
}

function PasswordSection() {
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const target = event.currentTarget;
    const form = new FormData(target);
    setError(null);
    setDone(false);
    try {
      await must(
        api.PUT('/api/v1/auth/password', {
          body: { current_password: String(form.get('current') ?? ''), new_password: String(form.get('new') ?? '') },
        }),
      );
      setDone(true);
      target.reset();
    } catch (caught) {
      setError(errorText(caught));
    }
  }
  return (
    <section aria-labelledby="password-title" className="card">
      <h2 id="password-title">Password</h2>
      <form onSubmit={submit} className="stack">
        <Field label="Current password" name="current" type="password" autoComplete="current-password" required />
        <Field label="New password" name="new" type="password" autoComplete="new-password" required minLength={8} maxLength={128} />
        <FormError message={error} />
        {done && <p role="status">Your password was changed.</p>}
        <button type="submit">Change password</button>
      </form>
    </section>
  );
}

function SessionsSection() {
  const client = useQueryClient();
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: () => must(api.GET('/api/v1/auth/sessions')) });
  const refresh = () => client.invalidateQueries({ queryKey: ['sessions'] });
  const others = useMutation({ mutationFn: () => must(api.DELETE('/api/v1/auth/sessions')), onSuccess: refresh });
  const one = useMutation({
    mutationFn: (id: string) => must(api.DELETE('/api/v1/auth/sessions/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
  });
  return (
    <section aria-labelledby="sessions-title" className="card">
      <h2 id="sessions-title">Where you are signed in</h2>
      <ul className="sessions">
        {sessions.data?.items.map((session) => (
          <li key={session.id}>
            <span>
              <strong>{describeAgent(session.user_agent)}</strong>
              {session.current && <span className="badge">This device</span>}
              <br />
              <span className="muted">
                {session.ip ?? 'unknown address'} · last used {formatDate(session.last_used_at ?? session.created_at)}
              </span>
            </span>
            {!session.current && (
              <button type="button" onClick={() => one.mutate(session.id)}>
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => others.mutate()} disabled={others.isPending}>
        Sign out all other sessions
      </button>
      {others.isSuccess && <p role="status">Signed out {others.data.revoked} other {others.data.revoked === 1 ? 'session' : 'sessions'}.</p>}
    </section>
  );
}

function describeAgent(agent: string | null | undefined): string {
  if (!agent) return 'Unknown device';
  const browser = /Firefox|Edg|Chrome|Safari/.exec(agent)?.[0]?.replace('Edg', 'Edge') ?? 'Browser';
  const system = /Windows|Mac OS X|Android|iPhone|Linux/.exec(agent)?.[0]?.replace('Mac OS X', 'macOS') ?? '';
  return system ? `${browser} on ${system}` : browser;
}

function formatDate(value: string): string {
  return new Date(value).toLocaleString();
}
