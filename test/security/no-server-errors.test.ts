/**
 * Bad input never gets a 500: every route in /openapi.json is called with malformed bodies, wrong
 * types, odd path parameters and odd query strings, and every answer must be a 4xx OpenAI envelope.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const ADMIN = 'no-server-errors-admin-token';
const BODIES: Array<string | undefined> = [
  undefined,
  '',
  '{',
  'null',
  '[]',
  '"text"',
  '42',
  '{}',
  '{"model":42,"messages":"x","url":7,"events":"all","amount":"lots","period":13,"email":[],"password":{}}',
  '{"model":"qwen/qwen3-8b","messages":[{"role":"user","content":{"nested":[1,2,3]}}],"max_tokens":1e309}',
  '{"__proto__":{"admin":true}}',
  '{"name":"a\\u0000b","email":"x\\u0000@example.com","password":"p\\u0000assword-long","url":"https://e\\u0000.com"}',
  `{"name":"${'x'.repeat(5000)}"}`,
];
const PARAMS = ['does-not-exist', '%00', '..%2F..', `key_${'A'.repeat(300)}`, '0'];
const QUERIES = ['', '?limit=-1&after=%00&from=yesterday&to=1e99&group_by=week&format=pdf'];

let gw: TestGateway;
let apiKey: string;
beforeAll(async () => {
  gw = await startTestGateway({
    env: { SIMO_ADMIN_TOKEN: ADMIN },
    // The fuzzing below fails many logins from one address; the guard has its own tests.
    config: { plans: { starter: { rpm: 100_000 } }, limits: { authFailuresPerMinute: 100_000 } },
  });
  ({ apiKey } = await gw.signUp());
});
afterAll(async () => {
  await gw?.stop();
});

it('answers every route, whatever the input, without a server error', async () => {
  const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const failures: string[] = [];
  let calls = 0;
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item).filter((m) => ['get', 'post', 'patch', 'delete'].includes(m))) {
      const token = template.startsWith('/operator') ? ADMIN : apiKey;
      const paths = template.includes('{')
        ? PARAMS.map((p) => template.replace(/\{[^}]+\}/g, p))
        : [template];
      for (const path of paths) {
        for (const query of QUERIES) {
          for (const body of method === 'get' || method === 'delete' ? [undefined] : BODIES) {
            calls++;
            const res = await fetch(`${gw.url}${path}${query}`, {
              method: method.toUpperCase(),
              headers: {
                authorization: `Bearer ${token}`,
                ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              ...(body === undefined ? {} : { body }),
            });
            const text = await res.text();
            const where = `${method.toUpperCase()} ${path}${query} ${body?.slice(0, 40) ?? '(no body)'}`;
            if (res.status >= 500) failures.push(`${res.status} ${where}: ${text.slice(0, 200)}`);
            else if (res.status >= 400 && !res.headers.get('content-type')?.includes('json'))
              failures.push(`${res.status} non-JSON error ${where}`);
            else if (res.status >= 400) {
              const parsed = JSON.parse(text) as { type?: unknown; error?: unknown };
              const err = parsed.error;
              const envelope = typeof err === 'object' && err !== null ? err : {};
              // The Anthropic Messages surface answers in Anthropic's envelope, everything else in OpenAI's.
              const keys = path.startsWith('/v1/messages')
                ? ['message', 'type']
                : ['message', 'type', 'param', 'code'];
              const anthropicOk = !path.startsWith('/v1/messages') || parsed.type === 'error';
              if (!anthropicOk || !keys.every((k) => k in envelope))
                failures.push(`${res.status} bad envelope ${where}: ${text.slice(0, 200)}`);
            }
          }
        }
      }
    }
  }
  expect(calls).toBeGreaterThan(300);
  expect(failures).toEqual([]);
}, 120_000);

it('answers NUL bytes in forms and URLs with a 400, not a database error', async () => {
  for (const path of ['/register', '/login']) {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'email=a%00b%40example.com&password=correct%00horse%00battery',
      redirect: 'manual',
    });
    expect(res.status, path).toBeLessThan(500);
  }
  const url = await fetch(`${gw.url}/admin/keys/key_%00`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${apiKey}` },
  });
  expect(url.status).toBe(400);
  const json = await fetch(`${gw.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: '{"name":"bad\\u0000name"}',
  });
  expect(json.status).toBe(400);
  expect(((await json.json()) as { error: { code: string } }).error.code).toBe('invalid_parameter');
});

it('does not decode a model id twice', async () => {
  // A fresh key: the fuzzing above rotates the first one.
  const auth = { authorization: `Bearer ${(await gw.signUp()).apiKey}` };
  expect((await fetch(`${gw.v1}/models/a%25`, { headers: auth })).status).toBe(404);
  expect((await fetch(`${gw.v1}/models/qwen%2Fqwen3-8b`, { headers: auth })).status).toBe(200);
  expect((await fetch(`${gw.v1}/models/qwen/qwen3-8b`, { headers: auth })).status).toBe(200);
});

/** Sends `head` on a fresh connection and returns everything the server answered before closing. */
function rawExchange(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(head);
  });
}

it('answers what Node refuses before routing (no Host, an unknown Expect) with the JSON envelope', async () => {
  const noHost = await rawExchange(gw.url, 'GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n');
  expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
  expect(noHost).toMatch(/\r\ncontent-type: application\/json/i);
  expect(noHost).toMatch(/\r\nx-request-id: req_/i);
  expect(JSON.parse(noHost.slice(noHost.indexOf('\r\n\r\n') + 4))).toEqual({
    error: {
      message: 'An HTTP/1.1 request must carry a Host header.',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_request',
    },
  });
  // HTTP/1.0 has no Host requirement.
  const http10 = await rawExchange(gw.url, 'GET /healthz HTTP/1.0\r\n\r\n');
  expect(http10).toMatch(/^HTTP\/1\.1 200 /);
  const expectation = await rawExchange(
    gw.url,
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 42-foo\r\nContent-Length: 2\r\n\r\n{}',
  );
  expect(expectation).toMatch(/^HTTP\/1\.1 417 /);
  expect(JSON.parse(expectation.slice(expectation.indexOf('\r\n\r\n') + 4))).toMatchObject({
    error: { type: 'invalid_request_error', param: null, code: 'expectation_failed' },
  });
});
