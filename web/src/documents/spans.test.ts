import { expect, it } from 'vitest';
import { cutAt, utf16Index } from './spans';

it('cuts at code points, emoji included', () => {
  expect(cutAt('abcdef', 2, 4)).toEqual(['ab', 'cd', 'ef']);
  const text = 'a🐾b 🐟c';
  expect(utf16Index(text, 2)).toBe(3);
  expect(cutAt(text, 1, 4)).toEqual(['a', '🐾b ', '🐟c']);
  expect(cutAt(text, 5, 99)).toEqual(['a🐾b 🐟', 'c', '']);
  expect(cutAt('abc', 2, 1)).toEqual(['ab', '', 'c']);
});
