import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, must, type Schemas } from '../api/client';
import { FormError } from '../auth/AuthLayout';
import { Field } from '../auth/Field';

/** Two-factor authentication: enrol with a QR code (or the secret typed in), confirm with a
 * code, keep the recovery codes; turn it off with a code. */
export function TwoFactorSection() {
  const client = useQueryClient();
  const status = useQuery({ queryKey: ['2fa'], queryFn: () => must(api.GET('/api/v1/auth/2fa')) });
  const [setup, setSetup] = useState<Schemas['SetupResponse'] | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['2fa'] });

  async function begin() {
    setError(null);
    try {
      setSetup(await must(api.POST('/api/v1/auth/2fa/setup')));
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function confirm(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get('code') ?? '').replace(/\s/g, '');
    setError(null);
    try {
      const enabled = await must(api.POST('/api/v1/auth/2fa/enable', { body: { code } }));
      setCodes(enabled.recovery_codes);
      setSetup(null);
      await refresh();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  async function disable(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get('code') ?? '').replace(/\s/g, '');
    setError(null);
    try {
      await must(api.POST('/api/v1/auth/2fa/disable', { body: { totp_code: code } }));
      setCodes(null);
      await refresh();
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <section aria-labelledby="twofa-title" className="card">
      <h2 id="twofa-title">Two-factor authentication</h2>
      {codes && <RecoveryCodes codes={codes} />}
      {status.data?.enabled ? (
        <>
          <p>On. {status.data.recovery_codes_left} recovery codes left.</p>
          <form onSubmit={disable} className="stack" aria-label="Turn off two-factor authentication">
            <Field label="Code from your authenticator app" name="code" inputMode="numeric" autoComplete="one-time-code" required />
            <button type="submit">Turn off</button>
          </form>
        </>
      ) : setup ? (
        <div className="stack">
          <p>Scan this code with your authenticator app, or type the secret into it.</p>
          <QrCode text={setup.otpauth_url} />
          <p>
            Secret: <code aria-label="Secret">{setup.secret}</code>
          </p>
          <form onSubmit={confirm} className="stack" aria-label="Confirm two-factor authentication">
            <Field label="Code from your authenticator app" name="code" inputMode="numeric" autoComplete="one-time-code" required />
            <button type="submit" className="primary">
              Turn on
            </button>
          </form>
        </div>
      ) : (
        <>
          <p className="muted">Off. With it on, signing in also asks for a code from an app on your phone.</p>
          <button type="button" onClick={() => void begin()}>
            Set up two-factor authentication
          </button>
        </>
      )}
      <FormError message={error} />
    </section>
  );
}

function RecoveryCodes({ codes }: { codes: string[] }) {
  const file = URL.createObjectURL(new Blob([codes.join('\n') + '\n'], { type: 'text/plain' }));
  return (
    <div className="secret" role="status">
      <p>Two-factor authentication is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your phone.</p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <a href={file} download="tome-recovery-codes.txt">
        Download the recovery codes
      </a>
    </div>
  );
}

/** The otpauth:// address as a QR code image (the encoder is loaded only when needed). */
function QrCode({ text }: { text: string }) {
  const [image, setImage] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import('qrcode').then((qr) => qr.toDataURL(text, { margin: 1, width: 200 })).then((url) => live && setImage(url));
    return () => {
      live = false;
    };
  }, [text]);
  return image ? <img src={image} width={200} height={200} alt="QR code for your authenticator app" className="qr" /> : <p className="muted">Drawing the QR code…</p>;
}
