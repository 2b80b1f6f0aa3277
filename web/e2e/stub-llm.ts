import { createServer, type Server } from 'node:http';

/**
 * A loopback stand-in for a remote model server, speaking the OpenAI streaming protocol
 * (`POST /v1/chat/completions` with `stream: true`): it writes `pieces`, one every `delayMs`.
 * It stops writing when its client goes away, like a real server.
 */
export async function startStubLlm(pieces: string[], delayMs: number): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
      response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    request.resume();
    request.on('end', async () => {
      response.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: 'stub', object: 'chat.completion.chunk', model: 'stub', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      let open = true;
      response.on('close', () => (open = false));
      response.write(chunk({ role: 'assistant', content: '' }));
      for (const piece of pieces) {
        await new Promise((wake) => setTimeout(wake, delayMs));
        if (!open) return;
        response.write(chunk({ content: piece }));
      }
      response.write(chunk({}, 'stop'));
      response.write(`data: ${JSON.stringify({ id: 'stub', object: 'chat.completion.chunk', model: 'stub', choices: [], usage: { prompt_tokens: 50, completion_tokens: pieces.length, total_tokens: 50 + pieces.length } })}\n\n`);
      response.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
