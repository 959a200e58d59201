/** An OpenAI-compatible upstream whose JSON answer is too large fails the route instead of filling memory. */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';

const MiB = 1024 * 1024;
const never = { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };

let server: Server;
let provider: OpenAICompatibleProvider;
let aborted = 0;

/** Writes `mib` MiB of a chat completion's content, as fast as the reader takes it. */
function hugeAnswer(res: ServerResponse, status: number, mib: number): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.on('close', () => {
    if (!res.writableFinished) aborted++;
  });
  res.write('{"error":{"message":"');
  let left = mib;
  const piece = 'x'.repeat(MiB);
  const more = () => {
    while (left > 0) {
      left--;
      if (!res.write(piece)) return void res.once('drain', more);
    }
    res.end('"}}');
  };
  more();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    if (req.url === '/v1/chat/completions') hugeAnswer(res, 200, 8);
    else if (req.url === '/v1/embeddings') hugeAnswer(res, 500, 3);
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  provider = new OpenAICompatibleProvider({
    id: 'big',
    baseUrl: `http://127.0.0.1:${address.port}/v1`,
    timeoutMs: 10_000,
    connections: 4,
    maxAnswerBytes: 2 * MiB,
  });
});

afterAll(async () => {
  await provider.close();
  server.close();
});

const call = { body: { model: 'm' }, signal: never, requestId: 'req_1' };

describe('size of a whole upstream answer', () => {
  it('fails the route with a protocol failure once the answer passes the limit, and drops the connection', async () => {
    const result = await provider.chatCompletion(call);
    expect(result).toEqual({
      ok: false,
      failure: {
        kind: 'protocol',
        message: `upstream answer is larger than ${2 * MiB} bytes`,
        retryable: true,
      },
    });
    await expect.poll(() => aborted).toBe(1);
  });

  it('reads an error answer only up to its own limit and keeps the status', async () => {
    const result = await provider.embeddings(call);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure).toMatchObject({
      kind: 'status',
      status: 500,
      message: 'upstream answered HTTP 500',
      retryable: true,
    });
  });
});
