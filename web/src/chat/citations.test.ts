import { describe, expect, it } from 'vitest';
import { citationNumber, linkCitations, locationText, readCitations, snippetPieces } from './citations';

describe('linkCitations', () => {
  it('links markers but not code or existing links', () => {
    expect(linkCitations('Cats sleep [1] and eat [2, 3].')).toBe(
      'Cats sleep [1](#cite-1) and eat [2](#cite-2)[3](#cite-3).',
    );
    expect(linkCitations('`a[1]` and\n```\nx[2]\n```\n[3]')).toBe('`a[1]` and\n```\nx[2]\n```\n[3](#cite-3)');
    expect(linkCitations('[1](http://x)')).toBe('[1](http://x)');
  });
  it('reads numbers back from links', () => {
    expect(citationNumber('#cite-12')).toBe(12);
    expect(citationNumber('#cite-x')).toBeNull();
    expect(citationNumber('https://example.com')).toBeNull();
  });
});

describe('snippetPieces', () => {
  it('keeps marks and shows markup as text', () => {
    expect(snippetPieces('a <mark>cat</mark> &lt;script&gt;')).toEqual([
      { text: 'a ', mark: false },
      { text: 'cat', mark: true },
      { text: ' <script>', mark: false },
    ]);
  });
});

describe('readCitations', () => {
  it('keeps well-formed citations and says where they are', () => {
    const list = readCitations([
      { number: 1, document_id: 'd', document_name: 'a.pdf', chunk_id: 'c', score: 1, snippet: 's', cited: true, page: 3, heading: ['Intro', 'Cats'] },
      { nonsense: true },
    ]);
    expect(list).toHaveLength(1);
    expect(locationText(list[0]!)).toBe('page 3 · Intro › Cats');
    expect(readCitations('nope')).toEqual([]);
  });
});
