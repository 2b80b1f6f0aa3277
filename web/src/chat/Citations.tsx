import { useId } from 'react';
import { Link } from 'react-router';
import { locationText, snippetPieces, type Citation } from './citations';

/** A snippet's text with the question's words marked; never parsed as HTML. */
export function Snippet({ text }: { text: string }) {
  return (
    <>
      {snippetPieces(text).map((piece, index) => (piece.mark ? <mark key={index}>{piece.text}</mark> : <span key={index}>{piece.text}</span>))}
    </>
  );
}

/** `[n]` in an answer: shows its source on hover or focus, opens the Sources panel on click. */
export function CitationChip({ citation, number, onOpen }: { citation: Citation | undefined; number: number; onOpen: (n: number) => void }) {
  const tip = useId();
  if (!citation) return <span className="cite missing">[{number}]</span>;
  return (
    <span className="cite-wrap">
      <button type="button" className="cite" aria-describedby={tip} aria-label={`Source ${number}: ${citation.document_name}`} onClick={() => onOpen(number)}>
        {number}
      </button>
      <span role="tooltip" id={tip} className="cite-tip">
        <strong>{citation.document_name}</strong>
        {locationText(citation) && <span className="muted"> · {locationText(citation)}</span>}
        <span className="cite-snippet">
          <Snippet text={citation.snippet} />
        </span>
      </span>
    </span>
  );
}

/** Every passage an answer used, cited or not, with its score. */
export function SourcesPanel({ citations, focus, onClose }: { citations: Citation[]; focus: number | null; onClose: () => void }) {
  return (
    <aside className="sources" aria-labelledby="sources-title">
      <header>
        <h2 id="sources-title">Sources</h2>
        <button type="button" onClick={onClose} aria-label="Close sources">
          ×
        </button>
      </header>
      <ol>
        {citations.map((citation) => (
          <li
            key={citation.number}
            className={citation.number === focus ? 'focused' : undefined}
            ref={(node) => {
              if (node && citation.number === focus) node.scrollIntoView({ block: 'nearest' });
            }}
          >
            <p className="source-head">
              <span className="cite static">{citation.number}</span> <strong>{citation.document_name}</strong>
            </p>
            <p className="muted">
              {[locationText(citation), `score ${citation.score.toFixed(3)}`, citation.cited ? 'cited' : 'not cited'].filter(Boolean).join(' · ')}
            </p>
            <blockquote>
              <Snippet text={citation.snippet} />
            </blockquote>
            <Link to={`/documents/${encodeURIComponent(citation.document_id)}?chunk=${encodeURIComponent(citation.chunk_id)}`}>
              Open at source<span className="visually-hidden">: {citation.document_name}, passage {citation.number}</span>
            </Link>
          </li>
        ))}
      </ol>
    </aside>
  );
}
