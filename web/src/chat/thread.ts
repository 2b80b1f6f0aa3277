// The branch of a conversation's message tree that is shown, and each message's siblings.
import type { Message } from './stream';

/** The messages of `path` (ids, root to leaf) in order; unknown ids are skipped. */
export function branch(items: Message[], path: string[]): Message[] {
  const byId = new Map(items.map((m) => [m.id, m]));
  return path.map((id) => byId.get(id)).filter((m): m is Message => m !== undefined);
}

/** The messages that share `message`'s parent (itself included), oldest first. */
export function siblings(items: Message[], message: Message): Message[] {
  return items.filter((m) => m.parent_id === message.parent_id && m.role === message.role);
}

/** The newest leaf under `message` (following the newest child at each step). */
export function newestLeaf(items: Message[], message: Message): Message {
  let current = message;
  for (;;) {
    const children = items.filter((m) => m.parent_id === current.id);
    const newest = children.at(-1);
    if (!newest) return current;
    current = newest;
  }
}

/** The messages of a branch up to and including `base` (none when `base` is null). */
export function upTo(messages: Message[], base: string | null): Message[] {
  if (base === null) return [];
  const index = messages.findIndex((m) => m.id === base);
  return index === -1 ? messages : messages.slice(0, index + 1);
}
