import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { errorText, type Schemas } from '../api/client';
import { AccountFields, registerAccount } from './AccountFields';
import { AuthLayout, FormError } from './AuthLayout';
import { signIn, useSetup, useSignedIn } from './session';

/** First run: the installation has no account yet; the first one becomes its administrator. */
export function SetupPage() {
  const setup = useSetup();
  const navigate = useNavigate();
  const signedIn = useSignedIn();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const made = await registerAccount(form);
      await signIn({ login: made.user.username, password: String(form.get('password') ?? '') });
      await signedIn();
      navigate('/chat');
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthLayout title="Welcome to Tome">
      <p>Create the administrator account. It can invite people, manage documents and configure this installation.</p>
      <form onSubmit={submit} className="stack">
        <AccountFields />
        <FormError message={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create administrator'}
        </button>
      </form>
      {setup.data?.models && <ModelsStatus models={setup.data.models} />}
    </AuthLayout>
  );
}

function ModelsStatus({ models }: { models: Schemas['ModelsStatus'] }) {
  const chat = models.chat_models;
  return (
    <section className="models" aria-labelledby="models-title">
      <h2 id="models-title">Models on this server</h2>
      <dl>
        <dt>Embedder</dt>
        <dd>
          {models.embedder
            ? `${models.embedder}: search understands meaning as well as words.`
            : 'None: search matches words only. Set TOME_EMBED_MODEL_DIR to a sentence-embedding model folder to add meaning.'}
        </dd>
        <dt>Chat model</dt>
        <dd>
          {chat.length > 0
            ? `${chat.join(', ')}: answers are written from your documents.`
            : 'None: answers quote the best passages. Set TOME_CHAT_MODEL (a GGUF file) or TOME_LLM_BASE_URL to have answers written.'}
        </dd>
        <dt>Transcriber</dt>
        <dd>
          {models.transcriber
            ? 'Ready: recordings become transcripts and minutes.'
            : 'None: recordings cannot be transcribed. Set TOME_WHISPER_MODEL_DIR or TOME_STT_BASE_URL to add it.'}
        </dd>
      </dl>
    </section>
  );
}
