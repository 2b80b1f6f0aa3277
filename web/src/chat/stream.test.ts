import { expect, it } from 'vitest';
import { toTurnEvent } from './stream';

it('reads the events of a turn and ignores what it does not know', () => {
  expect(toTurnEvent('delta', '{"text":"Hi"}')).toEqual({ kind: 'delta', text: 'Hi' });
  expect(toTurnEvent('delta', '{"text":3}')).toBeNull();
  expect(toTurnEvent('error', '{"error":{"message":"boom"},"message":null}')).toEqual({ kind: 'error', error: 'boom', message: null });
  expect(toTurnEvent('sources', '{"sources":[{"number":1,"document_name":"a","snippet":"s"}]}')).toMatchObject({ kind: 'sources' });
  expect(toTurnEvent('mystery', '{}')).toBeNull();
  expect(toTurnEvent('delta', 'not json')).toBeNull();
});
