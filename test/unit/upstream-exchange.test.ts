/** The upstream HTTP exchange: whole bodies, bodies read as they come, cut-off answers and aborts. */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamAnswerTooLarge, UpstreamExchange } from '../../src/providers/upstream-exchange.js';
import { TimedSignal } from '../../src/shared/cancel-signal.js';

const never = { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} };
let server: Server | undefined;
const agent = new Agent({ connections: 4 });

afterEach(async () => {
  server?.close();
  server = undefined;
});

/** A raw HTTP/1.1 server: `answer` writes whatever bytes it likes on the socket of each request. */
async function rawServer(answer: (socket: Socket) => void): Promise<string> {
  server = createServer((socket) => {
    socket.once('data', () => answer(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

const send = (origin: string, signal = never as ConstructorParameters<typeof TimedSignal>[0]) =>
  UpstreamExchange.send(agent, { origin, path: '/v1/x', headers: {}, body: '{}', signal });

describe('UpstreamExchange', () => {
  it('reads a whole body that arrives in pieces, without its byte-order mark', async () => {
    const origin = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
      socket.write('4\r\n\ufeff{\r\n');
      setTimeout(() => socket.end('9\r\n"a":"é"}\r\n0\r\n\r\n'), 20);
    });
    const exchange = await send(origin);
    expect(exchange.statusCode).toBe(200);
    expect(exchange.headers['content-type']).toBe('application/json');
    expect(await exchange.text()).toBe('{"a":"é"}');
  });

  it('hands over what arrived before the upstream cut the connection, then fails', async () => {
    const origin = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n',
      );
      socket.end('9\r\ndata: 1\n\n\r\n');
      socket.destroy();
    });
    const exchange = await send(origin);
    // The reader is busy elsewhere while the data and the cut arrive.
    await new Promise((r) => setTimeout(r, 50));
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of exchange.body) got.push(chunk.toString());
      })(),
    ).rejects.toThrow();
    expect(got.join('')).toBe('data: 1\n\n');
  });

  it('fails with the signal’s reason when aborted before the answer', async () => {
    const origin = await rawServer(() => {}); // never answers
    const parent = new TimedSignal(never, 60_000, 'unused');
    const deadline = new TimedSignal(parent, 50, 'too slow');
    await expect(send(origin, deadline)).rejects.toMatchObject({ name: 'TimeoutError', message: 'too slow' });
    parent.release();
  });

  it('ends a body read early by aborting the request', async () => {
    let closed = false;
    const origin = await rawServer((socket) => {
      socket.on('close', () => {
        closed = true;
      });
      socket.write(
        'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n',
      );
      socket.write('9\r\ndata: 1\n\n\r\n');
    });
    const exchange = await send(origin);
    for await (const chunk of exchange.body) {
      expect(chunk.toString()).toBe('data: 1\n\n');
      break;
    }
    await expect.poll(() => closed).toBe(true);
  });

  it('pauses an upstream the reader does not keep up with, and resumes it as the reader takes', async () => {
    const MiB = 1024 * 1024;
    const total = 32 * MiB;
    let upstream: Socket | undefined;
    const origin = await rawServer((socket) => {
      upstream = socket;
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${total}\r\n\r\n`);
      // Kept open, as an upstream does: undici fails an answer whose server closes while it is paused.
      const piece = 'x'.repeat(MiB);
      for (let i = 0; i < total / MiB; i++) socket.write(piece);
    });
    const exchange = await send(origin);
    const body = exchange.body;
    let read = (await body.next()).value?.length ?? 0;
    // The reader stops: the gateway stops reading too, so the upstream's writes back up on its side
    // (more than the socket buffers between them hold).
    await new Promise((r) => setTimeout(r, 300));
    expect(upstream!.writableLength).toBeGreaterThan(0);
    for await (const chunk of body) read += chunk.length;
    expect(read).toBe(total);
  });

  it('stops reading a whole answer past its size limit and closes the connection', async () => {
    let closed = false;
    let written = 0;
    const origin = await rawServer((socket) => {
      socket.on('close', () => {
        closed = true;
      });
      // The gateway resets the connection mid-write.
      socket.on('error', () => {});
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
      // An answer that never ends: 64 KiB pieces for as long as the reader takes them.
      const piece = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
      const more = () => {
        while (!socket.destroyed && written < 64 * 1024 * 1024) {
          written += 0x10000;
          if (!socket.write(piece)) return void socket.once('drain', more);
        }
      };
      more();
    });
    const exchange = await send(origin);
    await expect(exchange.text(1024 * 1024)).rejects.toBeInstanceOf(UpstreamAnswerTooLarge);
    await expect.poll(() => closed).toBe(true);
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a whole answer whose announced length is past the limit before reading it', async () => {
    const origin = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000000\r\n\r\n{');
    });
    const exchange = await send(origin);
    await expect(exchange.text(4_000_000)).rejects.toMatchObject({
      name: 'UpstreamAnswerTooLarge',
      message: 'upstream answer is larger than 4000000 bytes',
    });
  });

  it('reads a whole answer of exactly the limit', async () => {
    const origin = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"a":12}');
    });
    expect(await (await send(origin)).text(8)).toBe('{"a":12}');
  });
});
