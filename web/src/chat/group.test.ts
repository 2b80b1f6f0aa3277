import { expect, it } from 'vitest';
import { groupByDay } from './group';

it('groups conversations by the day they were last active', () => {
  const now = new Date(2026, 11, 6, 10, 0);
  const at = (days: number, hour = 9) => ({ updated_at: new Date(2026, 11, 6 - days, hour).toISOString() });
  const groups = groupByDay([at(0), at(1, 23), at(3), at(30)], now);
  expect(groups.map((g) => [g.label, g.items.length])).toEqual([
    ['Today', 1],
    ['Yesterday', 1],
    ['Previous 7 days', 1],
    ['Older', 1],
  ]);
  expect(groupByDay([], now)).toEqual([]);
});
