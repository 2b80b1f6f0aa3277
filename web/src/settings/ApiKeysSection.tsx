import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, errorText, must } from '../api/client';
import { FormError } from '../auth/AuthLayout';
import { Field } from '../auth/Field';
import type { Me } from '../auth/session';
import { CopyButton } from '../ui/CopyButton';

/** Keys for other programs: made with some of your permissions, shown once, revocable. */
export function ApiKeysSection({ me }: { me: Me }) {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => must(api.GET('/api/v1/api-keys', { params: { query: { limit: 200 } } })) });
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['api-keys'] });
  const revoke = useMutation({
    mutationFn: (id: string) => must(api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: refresh,
  });

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const target = event.currentTarget;
    const form = new FormData(target);
    const days = Number(form.get('days'));
    const permissions = form.getAll('permission').map(String);
    setError(null);
    try {
      const made = await must(
        api.POST('/api/v1/api-keys', {
          body: {
            name: String(form.get('name') ?? '').trim(),
            permissions,
            expires_at: days > 0 ? new Date(Date.now() + days * 86_400_000).toISOString() : null,
          },
        }),
      );
      setSecret(made.key);
      target.reset();
      await refresh();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  const live = keys.data?.items.filter((key) => !key.revoked_at) ?? [];
  return (
    <section aria-labelledby="keys-title" className="card">
      <h2 id="keys-title">API keys</h2>
      <p className="muted">For programs that use Tome's API on your behalf in {me.tenant.name}. A key holds only the permissions you give it.</p>
      {secret && (
        <div className="secret" role="status">
          <p>
            Your new key (shown only now): <code>{secret}</code>
          </p>
          <CopyButton text={secret} label="Copy the key" />
          <button type="button" className="link" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      <ul className="keys">
        {live.map((key) => (
          <li key={key.id}>
            <span>
              <strong>{key.name}</strong> <code className="muted">{key.prefix}…</code>
              <br />
              <span className="muted">
                {key.permissions.join(', ')} · {key.expires_at ? `expires ${new Date(key.expires_at).toLocaleDateString()}` : 'never expires'}
                {key.last_used_at && ` · last used ${new Date(key.last_used_at).toLocaleString()}`}
              </span>
            </span>
            <button type="button" onClick={() => revoke.mutate(key.id)} aria-label={`Revoke ${key.name}`}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={create} className="stack" aria-label="New API key">
        <Field label="Key name" name="name" required maxLength={100} />
        <fieldset className="permissions">
          <legend>Permissions</legend>
          {me.permissions.map((permission) => (
            <label key={permission}>
              <input type="checkbox" name="permission" value={permission} defaultChecked={permission === 'chat.use' || permission === 'documents.read'} />
              {permission}
            </label>
          ))}
        </fieldset>
        <label className="field">
          Expires
          <select name="days" defaultValue="90">
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
            <option value="0">never</option>
          </select>
        </label>
        <FormError message={error} />
        <button type="submit">Create key</button>
      </form>
    </section>
  );
}
