import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

describe('SseParser', () => {
  it('joins events split across pieces at any byte', () => {
    const stream = 'event: delta\ndata: {"text":"Hel"}\n\nevent: delta\r\ndata: {"text":"lo"}\r\n\r\n: keep-alive\n\nid: 7\nevent: done\ndata: {}\n\n';
    for (let cut = 0; cut < stream.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))];
      expect(events.map((e) => e.event)).toEqual(['delta', 'delta', 'done']);
      expect(events[1]?.data).toBe('{"text":"lo"}');
      expect(events[2]?.id).toBe('7');
    }
  });

  it('joins data lines and defaults the event name', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\ndata: b\n\n')).toEqual([{ event: 'message', data: 'a\nb', id: null }]);
    expect(parser.push('event: x\n\n')).toEqual([]);
  });
});
