// The answer being generated for this tab: where in the thread it goes, the question (none
// when an answer is given again or re-attached to), the text so far, the sources. The
// server keeps writing when the connection drops: this hook re-attaches (Last-Event-ID)
// until the answer ends, and Stop asks the server to cancel. The stored thread is refetched
// at the end.
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { errorText } from '../api/client';
import type { Citation } from './citations';
import { attachTurn, cancelTurn, streamTurn, type Listener, type TurnRequest } from './stream';

export interface LiveTurn {
  /** The last stored message shown above the live turn (null: none). */
  base: string | null;
  /** The new question, shown above the answer (null when regenerating or re-attaching). */
  question: string | null;
  answer: string;
  sources: Citation[];
  error: string | null;
  streaming: boolean;
}

/** How many times a dropped stream is re-attached to before giving up. */
const ATTEMPTS = 5;

interface Progress {
  question: string | null;
  lastId: string | null;
  ended: boolean;
}

export function useTurn(conversation: string | undefined) {
  const client = useQueryClient();
  const [live, setLive] = useState<LiveTurn | null>(null);
  // Why the last turn could not start (what was stored shows its own error).
  const [failure, setFailure] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const progress = useRef<Progress | null>(null);

  const run = useCallback(
    async (base: string | null, question: string | null, first: (listener: Listener, signal: AbortSignal) => Promise<boolean>) => {
      const controller = new AbortController();
      abort.current = controller;
      const state: Progress = { question: null, lastId: null, ended: false };
      progress.current = state;
      setFailure(null);
      setLive({ base, question, answer: '', sources: [], error: null, streaming: true });
      const update = (change: (turn: LiveTurn) => LiveTurn) => setLive((turn) => (turn ? change(turn) : turn));
      const listener: Listener = (event, id) => {
        if (id) state.lastId = id;
        if (event.kind === 'message') state.question = event.message.id;
        else if (event.kind === 'delta') update((t) => ({ ...t, answer: t.answer + event.text }));
        else if (event.kind === 'sources') update((t) => ({ ...t, sources: event.sources }));
        else {
          state.ended = true;
          if (event.kind === 'error') update((t) => ({ ...t, error: event.error }));
        }
      };
      try {
        let attached = true;
        try {
          attached = await first(listener, controller.signal);
        } catch (caught) {
          if (!state.question && !controller.signal.aborted) setFailure(errorText(caught));
        }
        for (let attempt = 0; attached && !state.ended && state.question && !controller.signal.aborted && attempt < ATTEMPTS; attempt++) {
          try {
            attached = await attachTurn(state.question, state.lastId, listener, controller.signal);
          } catch {
            await new Promise((wake) => setTimeout(wake, 500 * (attempt + 1)));
          }
        }
      } finally {
        abort.current = null;
        progress.current = null;
        await client.invalidateQueries({ queryKey: ['thread', conversation] });
        await client.invalidateQueries({ queryKey: ['conversations'] });
        setLive(null);
      }
    },
    [client, conversation],
  );

  const start = useCallback(
    (request: TurnRequest, base: string | null, question: string | null) =>
      void run(base, question, async (listener, signal) => {
        await streamTurn(request, listener, signal);
        return true;
      }),
    [run],
  );

  /** A new question under `parent` (or replacing the question `editOf`: a new branch). */
  const ask = useCallback(
    (content: string, parent: string | null, editOf: string | null = null) => {
      if (!conversation) return;
      start({ conversation, question: { content, parent_id: editOf ? null : parent, edit_of: editOf } }, parent, content);
    },
    [conversation, start],
  );

  /** The answer `answer` (to the question `question`) given again, as its sibling. */
  const regenerate = useCallback((answer: string, question: string | null) => start({ regenerate: answer }, question, null), [start]);

  /** Re-attaches to an answer still being written to `question` (after a reload). */
  const resume = useCallback(
    (question: string) => void run(question, null, (listener, signal) => attachTurn(question, null, listener, signal)),
    [run],
  );

  /** Stop: the server cancels the generation (the part written is kept). */
  const stop = useCallback(() => {
    const question = progress.current?.question;
    if (question) void cancelTurn(question);
    else abort.current?.abort();
  }, []);

  return { live, failure, ask, regenerate, resume, stop, busy: live?.streaming ?? false };
}
