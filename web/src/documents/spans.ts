// The server counts a passage's span in Unicode code points; JavaScript strings count UTF-16
// units. These helpers cut a text at code-point offsets.

/** The UTF-16 index of code point `offset` in `text` (the length when past the end). */
export function utf16Index(text: string, offset: number): number {
  // Without surrogate pairs the two counts agree.
  if (!/[\uD800-\uDFFF]/.test(text)) return Math.min(offset, text.length);
  let index = 0;
  let points = 0;
  while (index < text.length && points < offset) {
    const code = text.charCodeAt(index);
    index += code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
    points += 1;
  }
  return index;
}

/** `text` cut into what comes before the span [start, end) in code points, the span, and after. */
export function cutAt(text: string, start: number, end: number): [string, string, string] {
  const from = utf16Index(text, start);
  const to = utf16Index(text, Math.max(start, end));
  return [text.slice(0, from), text.slice(from, to), text.slice(to)];
}
