import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router';
import { api, errorText, must } from '../api/client';
import type { Citation } from './citations';
import { SourcesPanel } from './Citations';
import { Composer } from './Composer';
import { MessageView, storedCitations, type SiblingNav } from './MessageView';
import type { Message } from './stream';
import { branch, newestLeaf, siblings, upTo } from './thread';
import { UploadList } from './UploadList';
import { uploadFiles, type DocumentInfo } from './uploads';
import { useTurn } from './useTurn';

interface Pending {
  ask?: string;
  uploads?: DocumentInfo[];
}

export function ConversationView() {
  const { id } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  const thread = useQuery({
    queryKey: ['thread', id],
    queryFn: () => must(api.GET('/api/v1/conversations/{id}/messages', { params: { path: { id: id ?? '' } } })),
    enabled: Boolean(id),
  });
  const { live, failure, ask, regenerate, resume, stop, busy } = useTurn(id);
  const [sources, setSources] = useState<{ citations: Citation[]; focus: number | null } | null>(null);
  const [uploads, setUploads] = useState<DocumentInfo[]>(() => (location.state as Pending | null)?.uploads ?? []);
  const [waiting, setWaiting] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const asked = useRef(false);
  const end = useRef<HTMLDivElement>(null);

  const items = thread.data?.items ?? [];
  const messages = thread.data ? branch(items, thread.data.selected_path) : [];
  const last = messages.at(-1);
  const shown = live ? upTo(messages, live.base) : messages;

  function versions(message: Message): SiblingNav | undefined {
    const all = siblings(items, message);
    if (all.length < 2) return undefined;
    return {
      index: all.findIndex((m) => m.id === message.id),
      count: all.length,
      go: (index) => {
        const target = all[index];
        if (!target || !id) return;
        void must(
          api.PATCH('/api/v1/conversations/{id}', {
            params: { path: { id } },
            body: { current_message_id: newestLeaf(items, target).id },
          }),
        ).then(() => client.invalidateQueries({ queryKey: ['thread', id] }));
      },
    };
  }

  // A question typed on the new-chat page is asked once the conversation exists.
  useEffect(() => {
    const pending = (location.state as Pending | null)?.ask;
    if (pending && id && !asked.current && thread.isSuccess) {
      asked.current = true;
      navigate(location.pathname, { replace: true, state: null });
      if ((location.state as Pending | null)?.uploads?.length) setWaiting(pending);
      else ask(pending, null);
    }
  }, [ask, id, location, navigate, thread.isSuccess]);

  // A question without an answer may still be answered on the server (a reload mid-answer):
  // re-attach to it.
  const resumed = useRef(false);
  useEffect(() => {
    if (resumed.current || asked.current || live || !thread.isSuccess || (location.state as Pending | null)?.ask) return;
    resumed.current = true;
    if (last?.role === 'user') resume(last.id);
  }, [last, live, location.state, resume, thread.isSuccess]);

  useEffect(() => {
    end.current?.scrollIntoView({ block: 'end' });
  }, [live?.answer, messages.length]);

  async function send(content: string) {
    if (!id) {
      try {
        const made = await must(api.POST('/api/v1/conversations', { body: { title: null } }));
        await client.invalidateQueries({ queryKey: ['conversations'] });
        navigate(`/chat/${made.id}`, { state: { ask: content, uploads } satisfies Pending });
      } catch (caught) {
        setError(errorText(caught));
      }
      return;
    }
    if (uploads.some((doc) => doc.status !== 'processed' && doc.status !== 'error')) {
      setWaiting(content);
      return;
    }
    ask(content, last?.id ?? null);
  }

  async function attach(files: File[]) {
    setError(null);
    try {
      const added = await uploadFiles(files);
      setUploads((current) => [...current, ...added]);
    } catch (caught) {
      setError(errorText(caught));
    }
  }

  return (
    <div className={sources ? 'conversation with-sources' : 'conversation'}>
      <section
        className="thread"
        aria-label="Conversation"
        onDragOver={(event) => event.preventDefault()}
        onDrop={(event) => {
          event.preventDefault();
          const files = [...event.dataTransfer.files];
          if (files.length > 0) void attach(files);
        }}
      >
        <div className="messages">
          {!id && messages.length === 0 && !live && (
            <div className="empty">
              <h1>What would you like to know?</h1>
              <p className="muted">Answers come from your documents, with every source cited. Drop files here to add them.</p>
            </div>
          )}
          {thread.isError && <p role="alert">{errorText(thread.error)}</p>}
          {shown.map((message) => (
            <MessageView
              key={message.id}
              role={message.role}
              content={message.content}
              citations={storedCitations(message)}
              message={message}
              error={message.error}
              busy={busy}
              siblings={versions(message)}
              onSources={(citations, focus) => setSources({ citations, focus })}
              onEdit={(content) => ask(content, message.parent_id ?? null, message.id)}
              onRegenerate={() => regenerate(message.id, message.parent_id ?? null)}
            />
          ))}
          {live && (
            <>
              {live.question !== null && (
                <MessageView role="user" content={live.question} citations={[]} onSources={() => undefined} />
              )}
              <MessageView
                role="assistant"
                content={live.answer}
                citations={live.sources}
                streaming={live.streaming}
                error={live.error}
                onSources={(citations, focus) => setSources({ citations, focus })}
              />
            </>
          )}
          {failure && (
            <p role="alert" className="form-error">
              {failure}
            </p>
          )}
          <div ref={end} />
        </div>
        <UploadList
          documents={uploads}
          onSettled={() => {
            if (waiting) {
              const question = waiting;
              setWaiting(null);
              ask(question, last?.id ?? null);
            }
          }}
        />
        {waiting && <p className="muted" role="status">Your question will be asked when the files are ready.</p>}
        {error && <p role="alert" className="form-error">{error}</p>}
        <Composer busy={busy} onSend={(text) => void send(text)} onStop={stop} onAttach={(files) => void attach(files)} />
      </section>
      {sources && <SourcesPanel citations={sources.citations} focus={sources.focus} onClose={() => setSources(null)} />}
    </div>
  );
}
