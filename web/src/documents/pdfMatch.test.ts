import { describe, expect, it } from 'vitest';
import { coveredItems } from './pdfMatch';

const page = ['Annual report', 'Cats sleep for about', ' ', 'sixteen hours every day,', 'mostly in warm places.', 'Dogs bark.'];

describe('coveredItems', () => {
  it('finds a passage whose spacing and line breaks differ from the page', () => {
    expect(coveredItems(page, 'Cats sleep for about sixteen hours\nevery day, mostly in warm places.')).toEqual([1, 3, 4]);
  });

  it('marks the part on this page of a passage that runs on to the next', () => {
    expect(coveredItems(page, 'mostly in warm places. Dogs bark. Birds sing at dawn on the following page.')).toEqual([4, 5]);
  });

  it('marks the end of a passage that began on the previous page', () => {
    expect(coveredItems(page, 'The previous page ended with a long sentence about the report. Annual report')).toEqual([0]);
  });

  it('marks nothing when the passage is not on the page', () => {
    expect(coveredItems(page, 'Hamsters store food in their cheeks.')).toEqual([]);
    expect(coveredItems(page, '')).toEqual([]);
  });

  it('does not trust a short coincidence', () => {
    expect(coveredItems(page, 'Dogs are loyal companions who bark at strangers.')).toEqual([]);
  });
});
