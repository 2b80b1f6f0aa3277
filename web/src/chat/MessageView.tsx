import { Markdown } from '../ui/Markdown';
import { CopyButton } from '../ui/CopyButton';
import { readCitations, linkCitations, type Citation } from './citations';
import { CitationChip } from './Citations';
import type { Message } from './stream';

interface Props {
  role: string;
  content: string;
  citations: Citation[];
  message?: Message;
  streaming?: boolean;
  error?: string | null;
  onSources: (citations: Citation[], focus: number | null) => void;
  onRetry?: () => void;
}

export function MessageView({ role, content, citations, message, streaming, error, onSources, onRetry }: Props) {
  if (role === 'user') {
    return (
      <article className="message user" aria-label="Your question">
        <p className="user-text">{content}</p>
      </article>
    );
  }
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
          {onRetry && (
            <button type="button" onClick={onRetry}>
              Retry
            </button>
          )}
        </div>
      )}
      {!streaming && (
        <footer className="message-meta">
          {citations.length > 0 && (
            <button type="button" className="link" onClick={() => onSources(citations, null)}>
              {citations.length} {citations.length === 1 ? 'source' : 'sources'}
            </button>
          )}
          {message && <Usage message={message} />}
          <CopyButton text={content} label="Copy answer" />
        </footer>
      )}
    </article>
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
