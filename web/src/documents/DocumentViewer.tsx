import { useQuery } from '@tanstack/react-query';
import { Suspense, lazy, useEffect, useRef } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { api, errorText, must } from '../api/client';
import { locationText } from '../chat/citations';
import { cutAt } from './spans';

// pdf.js is large: it is fetched only when a PDF is opened.
const PdfPage = lazy(() => import('./PdfPage'));

/** A document's extracted text with the cited passage highlighted and scrolled into view. */
export function DocumentViewer() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const chunk = params.get('chunk');
  const navigate = useNavigate();
  const path = { params: { path: { id } } };
  const info = useQuery({ queryKey: ['document', id], queryFn: () => must(api.GET('/api/v1/documents/{id}', path)) });
  const text = useQuery({ queryKey: ['document-text', id], queryFn: () => must(api.GET('/api/v1/documents/{id}/text', path)) });
  const mark = useRef<HTMLElement>(null);

  const passage = text.data?.passages.find((p) => p.chunk_id === chunk);
  useEffect(() => {
    mark.current?.scrollIntoView({ block: 'center' });
    mark.current?.focus({ preventScroll: true });
  }, [passage]);

  if (info.isError || text.isError) {
    return (
      <div className="page">
        <p role="alert">{errorText(info.error ?? text.error)}</p>
      </div>
    );
  }
  if (!info.data || !text.data) {
    return (
      <p className="loading" role="status">
        Loading the document…
      </p>
    );
  }
  const [before, cited, after] = passage ? cutAt(text.data.text, passage.start, passage.end) : [text.data.text, '', ''];
  const where = passage ? passageLocation(passage.metadata) : '';
  const content = `/api/v1/documents/${encodeURIComponent(id)}/content`;
  const pages = pageSpan(passage?.metadata);
  return (
    <div className="page viewer">
      <header className="viewer-head">
        <h1>{info.data.original_name}</h1>
        <p className="muted">
          {[info.data.document_type.replace('_', ' '), plural(text.data.passages.length, 'passage'), where && `cited passage: ${where}`]
            .filter(Boolean)
            .join(' · ')}
        </p>
        <p className="viewer-actions">
          <a href={content} download>
            Download the original
          </a>
          <button type="button" className="link" onClick={() => navigate(-1)}>
            Back
          </button>
        </p>
        {chunk && !passage && <p role="status">The cited passage is no longer in this document (it was processed again).</p>}
        {text.data.truncated && <p role="status">This document is long: only its beginning is shown.</p>}
      </header>
      {info.data.mime_type === 'application/pdf' && (
        <Suspense
          fallback={
            <p className="loading" role="status">
              Loading the PDF viewer…
            </p>
          }
        >
          <PdfPage url={content} page={pages.page} pageEnd={pages.end} passage={cited} />
        </Suspense>
      )}
      <article className="document-text" aria-label="Document text">
        {before}
        {passage && (
          <mark ref={mark} tabIndex={-1} className="passage" aria-label="Cited passage">
            {cited}
          </mark>
        )}
        {after}
      </article>
    </div>
  );
}

function passageLocation(metadata: unknown): string {
  const m = (metadata ?? {}) as { page?: number; heading_path?: string[]; time_start?: number };
  return locationText({
    page: m.page,
    heading: m.heading_path,
    time: typeof m.time_start === 'number' ? clock(m.time_start) : undefined,
  });
}

/** The page a passage starts on (1 when unknown) and the last one when it spans several. */
function pageSpan(metadata: unknown): { page: number; end?: number } {
  const m = (metadata ?? {}) as { page?: unknown; page_end?: unknown };
  const page = typeof m.page === 'number' && m.page >= 1 ? m.page : 1;
  return { page, end: typeof m.page_end === 'number' ? m.page_end : undefined };
}

function clock(seconds: number): string {
  const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');
  return `${pad(seconds / 3600)}:${pad((seconds % 3600) / 60)}:${pad(seconds % 60)}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
