// Posting a question with `stream: true` and reading the answer's Server-Sent Events.
import { CSRF_HEADER, toApiError, type Schemas } from '../api/client';
import { readCitations, type Citation } from './citations';
import { SseParser } from './sse';

export type Message = Schemas['MessageResponse'];

export type TurnEvent =
  | { kind: 'message'; message: Message }
  | { kind: 'sources'; sources: Citation[] }
  | { kind: 'delta'; text: string }
  | { kind: 'done'; message: Message | null }
  | { kind: 'error'; error: string; message: Message | null }
  | { kind: 'cancelled' };

/** One SSE event of a turn as a TurnEvent (null for events this app does not know). */
export function toTurnEvent(name: string, data: string): TurnEvent | null {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return null;
  }
  switch (name) {
    case 'message':
      return { kind: 'message', message: value as unknown as Message };
    case 'sources':
      return { kind: 'sources', sources: readCitations(value.sources) };
    case 'delta':
      return typeof value.text === 'string' ? { kind: 'delta', text: value.text } : null;
    case 'done':
      return { kind: 'done', message: (value.message as Message | null) ?? null };
    case 'error': {
      const error = value.error as { message?: unknown } | undefined;
      return {
        kind: 'error',
        error: typeof error?.message === 'string' ? error.message : 'The model failed.',
        message: (value.message as Message | null) ?? null,
      };
    }
    case 'cancelled':
      return { kind: 'cancelled' };
    default:
      return null;
  }
}

export interface Question {
  content: string;
  parent_id?: string | null;
  edit_of?: string | null;
}

/** Where a turn is asked: a new question in a conversation, or an answer given again. */
export type TurnRequest = { conversation: string; question: Question } | { regenerate: string };

function turnUrl(request: TurnRequest): [string, object] {
  if ('regenerate' in request) return [`/api/v1/messages/${encodeURIComponent(request.regenerate)}/regenerate`, {}];
  return [`/api/v1/conversations/${encodeURIComponent(request.conversation)}/messages`, request.question];
}

/** An event of a turn with its sequence number (for re-attaching with Last-Event-ID). */
export type Listener = (event: TurnEvent, id: string | null) => void;

/** Starts a turn, calling `onEvent` for each of its events until the answer ends. */
export async function streamTurn(request: TurnRequest, onEvent: Listener, signal: AbortSignal): Promise<void> {
  const [url, body] = turnUrl(request);
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', [CSRF_HEADER]: '1' },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  await readEvents(response, onEvent);
}

/**
 * Re-attaches to the answer being written to question `question`: the events after
 * `lastId` (all without it), then the rest. False when none is being written (404).
 */
export async function attachTurn(question: string, lastId: string | null, onEvent: Listener, signal: AbortSignal): Promise<boolean> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (lastId) headers['Last-Event-ID'] = lastId;
  const response = await fetch(`/api/v1/messages/${encodeURIComponent(question)}/events`, { credentials: 'same-origin', headers, signal });
  if (response.status === 404) return false;
  await readEvents(response, onEvent);
  return true;
}

/** Asks the server to stop the answer to `question` (the part written is kept). */
export async function cancelTurn(question: string): Promise<void> {
  await fetch(`/api/v1/messages/${encodeURIComponent(question)}/cancel`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { [CSRF_HEADER]: '1' },
  });
}

async function readEvents(response: Response, onEvent: Listener): Promise<void> {
  if (!response.ok || !response.body) {
    throw toApiError(response.status, await response.json().catch(() => undefined));
  }
  const parser = new SseParser();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const event of parser.push(value)) {
      const turn = toTurnEvent(event.event, event.data);
      if (turn) onEvent(turn, event.id);
    }
  }
}
