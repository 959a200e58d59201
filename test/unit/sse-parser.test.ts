/** The upstream SSE reader: framing, [DONE], and when it releases or cuts off the response body. */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SseEventTooLarge, SseParser, sseEvents } from '../../src/providers/sse-parser.js';

async function collect(events: AsyncIterable<string[]>): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of events) out.push(...batch);
  return out;
}

describe('sseEvents', () => {
  it('yields data payloads split across chunks, joins multi-line data, skips comments', async () => {
    const body = Readable.from([
      'data: {"a"',
      ':1}\n\n: keep-alive\n\ndata: x\r\ndata: y\r\n\r\n',
      'data: last',
    ]);
    expect(await collect(sseEvents(body))).toEqual(['{"a":1}', 'x\ny', 'last']);
  });

  it('yields the events each read completes together, and nothing for a read that completes none', async () => {
    const body = Readable.from(['data: 1\n\ndata: 2\n\ndata: 3', '', '\n\n', 'data: 4\n\ndata: [DONE]\n\n']);
    const batches: Array<string[] & { last?: true }> = [];
    for await (const batch of sseEvents(body)) batches.push(batch);
    expect(batches.map((b) => [...b])).toEqual([['1', '2'], ['3'], ['4']]);
    // The events before [DONE] come once the body is over, marked as the last.
    expect(batches.map((b) => b.last === true)).toEqual([false, false, true]);
  });

  it('reads a long event that arrives in many small reads in linear time', async () => {
    // 4 MB in 1 KB reads: rescanning the held text on every read would take seconds.
    const piece = 'x'.repeat(1024);
    const pieces = ['data: ', ...Array.from({ length: 4096 }, () => piece), '\n\ndata: next\n\n'];
    const started = performance.now();
    const events = await collect(sseEvents(Readable.from(pieces)));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(events).toHaveLength(2);
    expect(events[0]!.length).toBe(4096 * 1024);
    expect(events[1]).toBe('next');
  });

  it('fails, and destroys the body, once one event passes the size limit', async () => {
    const body = Readable.from([
      'data: 1\n\n',
      'data: ',
      ...Array.from({ length: 20 }, () => 'x'.repeat(100)),
    ]);
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const batch of sseEvents(body, 1000)) got.push(...batch);
      })(),
    ).rejects.toBeInstanceOf(SseEventTooLarge);
    expect(got).toEqual(['1']);
    expect(body.destroyed).toBe(true);
  });

  it('counts every line of an event against the limit, and starts again at the next event', () => {
    const parser = new SseParser(100);
    expect(parser.push(`data: ${'a'.repeat(60)}\n\ndata: ${'b'.repeat(60)}\n\n`)).toHaveLength(2);
    expect(() => parser.push(`data: ${'c'.repeat(60)}\ndata: ${'d'.repeat(60)}\n`)).toThrow(SseEventTooLarge);
  });

  it('drops the byte-order mark an event stream may start with', async () => {
    const body = Readable.from([Buffer.from('\ufeffdata: 1\n\n', 'utf8'), Buffer.from('data: 2\n\n')]);
    expect(await collect(sseEvents(body))).toEqual(['1', '2']);
  });

  it('decodes a character whose bytes arrive in two reads', async () => {
    const bytes = Buffer.from('data: {"c":"é€😀"}\n\n');
    const cut = bytes.indexOf(Buffer.from('€')) + 1;
    const body = Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(await collect(sseEvents(body))).toEqual(['{"c":"é€😀"}']);
  });

  it('stops at [DONE] and reads the body to its end instead of destroying it', async () => {
    const body = Readable.from(['data: 1\n\ndata: [DONE]\n\n', 'data: ignored\n\n']);
    expect(await collect(sseEvents(body))).toEqual(['1']);
    expect(body.destroyed).toBe(true); // auto-destroyed after a normal end
    expect(body.readableEnded).toBe(true);
  });

  it('cuts off a body that stays open after [DONE]', async () => {
    const body = new PassThrough();
    body.write('data: 1\n\ndata: [DONE]\n\n');
    const started = performance.now();
    expect(await collect(sseEvents(body))).toEqual(['1']);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(body.destroyed).toBe(true);
    expect(body.readableEnded).toBe(false);
  });

  it('destroys the body when the consumer stops early (that aborts the upstream request)', async () => {
    const body = new PassThrough();
    body.write('data: 1\n\n');
    const events = sseEvents(body);
    expect((await events.next()).value).toEqual(['1']);
    body.write('data: 2\n\n');
    await events.return(undefined);
    expect(body.destroyed).toBe(true);
    expect(body.readableEnded).toBe(false);
  });

  it('passes a failing body’s error on', async () => {
    const body = new PassThrough();
    body.write('data: 1\n\n');
    const events = sseEvents(body);
    expect((await events.next()).value).toEqual(['1']);
    setImmediate(() => body.destroy(new Error('socket hang up')));
    await expect(events.next()).rejects.toThrow('socket hang up');
  });
});
