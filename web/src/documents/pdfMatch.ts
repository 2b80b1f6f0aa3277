// Which pieces of a PDF page's text layer hold a cited passage. The server extracted the
// passage with its own PDF reader, so spacing and line breaks differ from what pdf.js
// reads off the page: both sides are compared with every space removed and letters folded.

function fold(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, '').toLowerCase();
}

/**
 * The indexes of the text items (in page order) that the passage covers: the run of items
 * whose joined text holds the passage, or, when the passage does not appear whole on this
 * page (it runs on to the next one), the run that holds its longest part found here.
 */
export function coveredItems(items: readonly string[], passage: string): number[] {
  const wanted = fold(passage);
  if (wanted.length === 0) return [];
  const owners: number[] = [];
  let page = '';
  items.forEach((item, index) => {
    const folded = fold(item);
    page += folded;
    for (let i = 0; i < folded.length; i += 1) owners.push(index);
  });
  const [at, length] = longestPlacement(page, wanted);
  if (length === 0) return [];
  const first = owners[at] ?? 0;
  const last = owners[at + length - 1] ?? first;
  const covered: number[] = [];
  for (let index = first; index <= last; index += 1) {
    if (fold(items[index] ?? '').length > 0) covered.push(index);
  }
  return covered;
}

/**
 * Where on the page the passage (or the largest piece of it: its start when it runs on to
 * the next page, its end when it began on the previous one) stands, as [offset, length].
 * Pieces shorter than 12 characters (or the whole passage, if shorter) are not trusted.
 */
function longestPlacement(page: string, wanted: string): [number, number] {
  const whole = page.indexOf(wanted);
  if (whole >= 0) return [whole, wanted.length];
  const least = Math.min(12, wanted.length);
  const head = longestFound(least, wanted.length, (n) => page.indexOf(wanted.slice(0, n)));
  const tail = longestFound(least, wanted.length, (n) => page.indexOf(wanted.slice(wanted.length - n)));
  const best = head[1] >= tail[1] ? head : tail;
  return best[1] > 0 ? best : [0, 0];
}

/**
 * The greatest length in [least, most] for which `find` answers an offset (a piece found
 * implies every shorter piece from the same end is found, so a binary search suffices).
 */
function longestFound(least: number, most: number, find: (length: number) => number): [number, number] {
  let found: [number, number] = [0, 0];
  let low = least;
  let high = most;
  while (low <= high) {
    const length = Math.floor((low + high) / 2);
    const at = find(length);
    if (at >= 0) {
      found = [at, length];
      low = length + 1;
    } else {
      high = length - 1;
    }
  }
  return found;
}
