import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Requests Node's HTTP parser refuses never put their raw bytes (and the credentials in them) in the logs. */
let gw: TestGateway;
const lines: string[] = [];
beforeAll(async () => {
  gw = await startTestGateway({ logLevel: 'trace', logStream: { write: (chunk) => lines.push(chunk) } });
});
afterAll(() => gw?.stop());

/** Sends raw bytes and returns the status line of the answer. */
function sendRaw(bytes: string): Promise<string> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

it('logs a header overflow without the request bytes', async () => {
  const secret = `sk-simo-${'S'.repeat(40)}`;
  const status = await sendRaw(
    `GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
  );
  expect(status).toMatch(/^HTTP\/1\.1 431/);
  const malformed = await sendRaw(
    `GET /v1/models HTTP/1.1\r\nAuthorization: Bearer ${secret}\r\nBad Header\r\n\r\n`,
  );
  expect(malformed).toMatch(/^HTTP\/1\.1 400/);
  await new Promise((r) => setTimeout(r, 50));
  const logged = lines.join('');
  expect(logged).toMatch(/client/);
  // Neither as text nor as the byte array pino makes of a Buffer.
  expect(logged).not.toContain(secret);
  expect(logged).not.toContain([...Buffer.from(`Bearer ${secret}`)].join(','));
  expect(logged).not.toContain('rawPacket');
});
