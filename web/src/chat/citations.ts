// Citations in an answer: `[n]` markers become links to `#cite-n`, which the Markdown
// component renders as chips; a citation's snippet (HTML-escaped, with the question's words
// in <mark>) becomes plain pieces of text, never HTML.

export interface Citation {
  number: number;
  document_id: string;
  document_name: string;
  chunk_id: string;
  ordinal?: number;
  page?: unknown;
  heading?: unknown;
  time?: string;
  score: number;
  snippet: string;
  cited: boolean;
}

const CITE_PREFIX = '#cite-';

/** The citations stored on a message (or sent in a `sources` event), well-formed ones only. */
export function readCitations(value: unknown): Citation[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is Citation =>
      typeof item === 'object' &&
      item !== null &&
      typeof (item as Citation).number === 'number' &&
      typeof (item as Citation).document_name === 'string' &&
      typeof (item as Citation).snippet === 'string',
  );
}

/**
 * Turns `[n]` (and `[n, m]`) markers outside code into Markdown links `[n](#cite-n)`.
 * Text inside fenced or inline code is left as it is.
 */
export function linkCitations(markdown: string): string {
  const parts = markdown.split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/);
  return parts
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part.replace(/\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\](?!\()/g, (_, list: string) =>
            list
              .split(',')
              .map((n) => `[${n.trim()}](${CITE_PREFIX}${n.trim()})`)
              .join(''),
          ),
    )
    .join('');
}

/** The citation number a link points at, if it is a citation link. */
export function citationNumber(href: string | undefined): number | null {
  if (!href?.startsWith(CITE_PREFIX)) return null;
  const n = Number(href.slice(CITE_PREFIX.length));
  return Number.isInteger(n) && n > 0 ? n : null;
}

export interface SnippetPiece {
  text: string;
  mark: boolean;
}

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };

/** A snippet as text pieces, marked or not; any other markup stays visible as text. */
export function snippetPieces(snippet: string): SnippetPiece[] {
  const pieces: SnippetPiece[] = [];
  let mark = false;
  for (const token of snippet.split(/(<mark>|<\/mark>)/)) {
    if (token === '<mark>') mark = true;
    else if (token === '</mark>') mark = false;
    else if (token) pieces.push({ text: token.replace(/&(?:lt|gt|amp|quot|#39|#x27);/g, (e) => ENTITIES[e] ?? e), mark });
  }
  return pieces;
}

/** Where in its document a citation's passage is, in words: "page 3 · Methods · 00:01:05". */
export function locationText(citation: Pick<Citation, 'page' | 'heading' | 'time'>): string {
  const parts: string[] = [];
  if (typeof citation.page === 'number') parts.push(`page ${citation.page}`);
  else if (typeof citation.page === 'string' && citation.page) parts.push(citation.page);
  if (Array.isArray(citation.heading)) parts.push(citation.heading.filter((h) => typeof h === 'string').join(' › '));
  else if (typeof citation.heading === 'string' && citation.heading) parts.push(citation.heading);
  if (citation.time) parts.push(citation.time);
  return parts.filter(Boolean).join(' · ');
}
