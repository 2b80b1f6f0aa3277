// Conversations grouped by when they were last active, as the sidebar shows them.

export interface Dated {
  updated_at: string;
}

export interface Group<T> {
  label: string;
  items: T[];
}

const DAY = 24 * 60 * 60 * 1000;

/** Groups newest-first items into Today, Yesterday, Previous 7 days and Older (local time). */
export function groupByDay<T extends Dated>(items: T[], now: Date): Group<T>[] {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const groups: Group<T>[] = [
    { label: 'Today', items: [] },
    { label: 'Yesterday', items: [] },
    { label: 'Previous 7 days', items: [] },
    { label: 'Older', items: [] },
  ];
  for (const item of items) {
    const at = new Date(item.updated_at).getTime();
    const index = at >= today ? 0 : at >= today - DAY ? 1 : at >= today - 7 * DAY ? 2 : 3;
    groups[index]!.items.push(item);
  }
  return groups.filter((group) => group.items.length > 0);
}
