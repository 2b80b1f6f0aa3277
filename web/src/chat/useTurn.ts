// The answer being generated in this tab: the question, the text so far, the sources, and
// how it ended. The stored thread is refetched when it ends.
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { errorText } from '../api/client';
import type { Citation } from './citations';
import { streamTurn, type Message, type Question } from './stream';

export interface LiveTurn {
  question: string;
  answer: string;
  sources: Citation[];
  error: string | null;
  streaming: boolean;
  stored: Message | null;
}

export function useTurn(conversation: string | undefined) {
  const client = useQueryClient();
  const [live, setLive] = useState<LiveTurn | null>(null);
  const abort = useRef<AbortController | null>(null);

  const ask = useCallback(
    async (question: Question) => {
      if (!conversation) return;
      const controller = new AbortController();
      abort.current = controller;
      setLive({ question: question.content, answer: '', sources: [], error: null, streaming: true, stored: null });
      const update = (change: (turn: LiveTurn) => LiveTurn) => setLive((turn) => (turn ? change(turn) : turn));
      try {
        await streamTurn(
          conversation,
          question,
          (event) => {
            if (event.kind === 'delta') update((t) => ({ ...t, answer: t.answer + event.text }));
            else if (event.kind === 'sources') update((t) => ({ ...t, sources: event.sources }));
            else if (event.kind === 'done') update((t) => ({ ...t, streaming: false, stored: event.message }));
            else if (event.kind === 'error') update((t) => ({ ...t, streaming: false, error: event.error }));
          },
          controller.signal,
        );
        update((t) => ({ ...t, streaming: false }));
      } catch (caught) {
        if (controller.signal.aborted) update((t) => ({ ...t, streaming: false }));
        else update((t) => ({ ...t, streaming: false, error: errorText(caught) }));
      } finally {
        abort.current = null;
        await client.invalidateQueries({ queryKey: ['thread', conversation] });
        await client.invalidateQueries({ queryKey: ['conversations'] });
        setLive((turn) => (turn && !turn.error ? null : turn));
      }
    },
    [client, conversation],
  );

  const stop = useCallback(() => abort.current?.abort(), []);
  return { live, ask, stop, busy: live?.streaming ?? false };
}
