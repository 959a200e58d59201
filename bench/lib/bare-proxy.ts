/**
 * The floor any proxy pays on this machine: node:http in front of an undici pool, nothing else (no
 * auth, limits, credits, metering, logging or validation). The bench measures it beside the gateway,
 * so the gateway's overhead can be told apart from the cost of an extra HTTP hop itself.
 *
 *   node --import tsx bench/lib/bare-proxy.ts --upstream URL   (prints one JSON line {"url"})
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
const upstream = new URL(values.upstream ?? '');
const pool = new Pool(upstream.origin, { connections: 1064, keepAliveTimeout: 30_000 });

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const answer = await pool.request({
      path: req.url ?? '/',
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: req.headers.accept ?? '*/*' },
      body: Buffer.concat(chunks),
    });
    res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? '') });
    for await (const chunk of answer.body) res.write(chunk);
    res.end();
  } catch {
    res.writeHead(502).end();
  }
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close();
});
