// The answer being generated in this tab: where in the thread it goes, the question (none
// when an answer is given again), the text so far, the sources, and how it ended. The
// stored thread is refetched when it ends.
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { errorText } from '../api/client';
import type { Citation } from './citations';
import { streamTurn, type TurnRequest } from './stream';

export interface LiveTurn {
  /** The last stored message shown above the live turn (null: none). */
  base: string | null;
  /** The new question, shown above the answer (null when regenerating). */
  question: string | null;
  answer: string;
  sources: Citation[];
  error: string | null;
  streaming: boolean;
}

export function useTurn(conversation: string | undefined) {
  const client = useQueryClient();
  const [live, setLive] = useState<LiveTurn | null>(null);
  // Why the last turn could not start or was cut off (what was stored shows its own error).
  const [failure, setFailure] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  const start = useCallback(
    async (request: TurnRequest, base: string | null, question: string | null) => {
      const controller = new AbortController();
      abort.current = controller;
      setFailure(null);
      setLive({ base, question, answer: '', sources: [], error: null, streaming: true });
      const update = (change: (turn: LiveTurn) => LiveTurn) => setLive((turn) => (turn ? change(turn) : turn));
      try {
        await streamTurn(
          request,
          (event) => {
            if (event.kind === 'delta') update((t) => ({ ...t, answer: t.answer + event.text }));
            else if (event.kind === 'sources') update((t) => ({ ...t, sources: event.sources }));
            else if (event.kind === 'done') update((t) => ({ ...t, streaming: false }));
            else if (event.kind === 'error') update((t) => ({ ...t, streaming: false, error: event.error }));
          },
          controller.signal,
        );
        update((t) => ({ ...t, streaming: false }));
      } catch (caught) {
        if (!controller.signal.aborted) setFailure(errorText(caught));
      } finally {
        abort.current = null;
        await client.invalidateQueries({ queryKey: ['thread', conversation] });
        await client.invalidateQueries({ queryKey: ['conversations'] });
        setLive(null);
      }
    },
    [client, conversation],
  );

  /** A new question under `parent` (or replacing the question `editOf`: a new branch). */
  const ask = useCallback(
    (content: string, parent: string | null, editOf: string | null = null) => {
      if (!conversation) return;
      void start({ conversation, question: { content, parent_id: editOf ? null : parent, edit_of: editOf } }, parent, content);
    },
    [conversation, start],
  );

  /** The answer `answer` (to the question `question`) given again, as its sibling. */
  const regenerate = useCallback((answer: string, question: string | null) => void start({ regenerate: answer }, question, null), [start]);

  const stop = useCallback(() => abort.current?.abort(), []);
  return { live, failure, ask, regenerate, stop, busy: live?.streaming ?? false };
}
