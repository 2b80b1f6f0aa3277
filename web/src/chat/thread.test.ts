import { expect, it } from 'vitest';
import { branch, newestLeaf, siblings, upTo } from './thread';
import type { Message } from './stream';

const m = (id: string, parent: string | null, role = 'user') => ({ id, parent_id: parent, role }) as Message;

it('follows the branch and finds siblings and the newest leaf', () => {
  const items = [m('q1', null), m('a1', 'q1', 'assistant'), m('q2', 'a1'), m('q2b', 'a1'), m('a2b', 'q2b', 'assistant')];
  expect(branch(items, ['q1', 'a1', 'q2']).map((x) => x.id)).toEqual(['q1', 'a1', 'q2']);
  expect(siblings(items, items[2]!).map((x) => x.id)).toEqual(['q2', 'q2b']);
  expect(newestLeaf(items, items[0]!).id).toBe('a2b');
});

it('cuts a branch where a live turn starts', () => {
  const items = [m('q1', null), m('a1', 'q1', 'assistant'), m('q2', 'a1')];
  expect(upTo(items, 'a1').map((x) => x.id)).toEqual(['q1', 'a1']);
  expect(upTo(items, null)).toEqual([]);
});
