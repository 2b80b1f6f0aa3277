import { useState } from 'react';
import { Markdown } from '../ui/Markdown';
import { CopyButton } from '../ui/CopyButton';
import { readCitations, linkCitations, type Citation } from './citations';
import { CitationChip } from './Citations';
import { Feedback } from './Feedback';
import type { Message } from './stream';

export interface SiblingNav {
  index: number;
  count: number;
  go: (index: number) => void;
}

interface Props {
  role: string;
  content: string;
  citations: Citation[];
  message?: Message;
  streaming?: boolean;
  error?: string | null;
  busy?: boolean;
  siblings?: SiblingNav;
  onSources: (citations: Citation[], focus: number | null) => void;
  onEdit?: (content: string) => void;
  onRegenerate?: () => void;
}

export function MessageView(props: Props) {
  return props.role === 'user' ? <Question {...props} /> : <Answer {...props} />;
}

function Question({ content, siblings, busy, onEdit }: Props) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(content);
  if (editing && onEdit) {
    return (
      <form
        className="message user editing"
        aria-label="Edit your question"
        onSubmit={(event) => {
          event.preventDefault();
          if (!draft.trim()) return;
          setEditing(false);
          onEdit(draft.trim());
        }}
      >
        <label htmlFor="edit-question" className="visually-hidden">
          Your question
        </label>
        <textarea id="edit-question" value={draft} onChange={(event) => setDraft(event.target.value)} autoFocus rows={3} />
        <div className="row">
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Send edited question
          </button>
        </div>
      </form>
    );
  }
  return (
    <article className="message user" aria-label="Your question">
      <p className="user-text">{content}</p>
      <footer className="message-meta">
        {siblings && <SiblingSwitcher {...siblings} />}
        {onEdit && (
          <button type="button" className="small" disabled={busy} onClick={() => (setDraft(content), setEditing(true))}>
            Edit
          </button>
        )}
      </footer>
    </article>
  );
}

function Answer({ content, citations, message, streaming, error, busy, siblings, onSources, onRegenerate }: Props) {
  const byNumber = new Map(citations.map((c) => [c.number, c]));
  return (
    <article className="message assistant" aria-label="Answer" aria-busy={streaming || undefined}>
      <Markdown
        text={linkCitations(content)}
        citation={(n) => <CitationChip number={n} citation={byNumber.get(n)} onOpen={(focus) => onSources(citations, focus)} />}
      />
      {streaming && content === '' && <p className="muted">Searching your documents…</p>}
      {error && (
        <div className="answer-error" role="alert">
          <p>The answer could not be finished: {error}</p>
        </div>
      )}
      {!streaming && (
        <footer className="message-meta">
          {siblings && <SiblingSwitcher {...siblings} />}
          {citations.length > 0 && (
            <button type="button" className="link" onClick={() => onSources(citations, null)}>
              {citations.length} {citations.length === 1 ? 'source' : 'sources'}
            </button>
          )}
          {message && <Usage message={message} />}
          <CopyButton text={content} label="Copy answer" />
          {onRegenerate && (
            <button type="button" className="small" disabled={busy} onClick={onRegenerate}>
              {error ? 'Retry' : 'Regenerate'}
            </button>
          )}
          {message && !error && <Feedback messageId={message.id} />}
        </footer>
      )}
    </article>
  );
}

/** `‹ 2/3 ›` between the versions of a message. */
function SiblingSwitcher({ index, count, go }: SiblingNav) {
  return (
    <span className="siblings" role="group" aria-label="Versions">
      <button type="button" className="small" aria-label="Previous version" disabled={index === 0} onClick={() => go(index - 1)}>
        ‹
      </button>
      <span aria-live="polite">
        {index + 1}/{count}
      </span>
      <button type="button" className="small" aria-label="Next version" disabled={index === count - 1} onClick={() => go(index + 1)}>
        ›
      </button>
    </span>
  );
}

function Usage({ message }: { message: Message }) {
  const latency = (message.metadata as { latency_ms?: unknown } | null)?.latency_ms;
  const parts = [
    message.model,
    message.output_tokens != null ? `${message.input_tokens ?? 0} → ${message.output_tokens} tokens` : null,
    typeof latency === 'number' ? `${(latency / 1000).toFixed(1)} s` : null,
  ].filter(Boolean);
  return <span className="muted">{parts.join(' · ')}</span>;
}

export function storedCitations(message: Message): Citation[] {
  return readCitations(message.source_references);
}
