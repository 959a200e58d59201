import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * An agent that knows only the host: it reads every discovery document, follows every URL inside
 * them (and the links in llms.txt, and every fixed path of the OpenAPI document), and must never hit
 * a 404 or a 5xx. Endpoints that need a key may answer 401, and POST-only ones 405 to a GET: the crawl
 * checks that things exist, not that an anonymous caller may use them.
 */
const PUBLIC = 'https://api.example.test';
const DOCUMENTS = [
  '/openapi.json',
  '/llms.txt',
  '/llms-full.txt',
  '/.well-known/ai-plugin.json',
  '/.well-known/agent.json',
  '/.well-known/agent-card.json',
  '/.well-known/mcp/server-card.json',
  '/.well-known/oauth-protected-resource',
  '/.well-known/api-catalog',
];

let g: TestGateway;
beforeAll(async () => {
  // The operator API is off without a token (its routes then answer 404); this crawl turns it on.
  g = await startTestGateway({
    env: { SIMO_PUBLIC_URL: PUBLIC, SIMO_ADMIN_TOKEN: 'operator-token-for-crawl-test' },
  });
});
afterAll(() => g?.stop());

/** Every absolute URL on our public origin inside a JSON value or a text. */
function urlsIn(text: string): string[] {
  const found = text.match(/https:\/\/api\.example\.test[^\s"'<>()[\]`\\]*/g) ?? [];
  // Templates such as `/admin/webhooks/{id}/test` are patterns, not links.
  return found.map((u) => u.replace(/[.,:;]+$/, '')).filter((u) => !u.includes('{'));
}

const local = (url: string) => `${g.url}${new URL(url).pathname}`;

describe('discovery crawl', () => {
  it('every document exists and every URL it advertises answers without 404/5xx', async () => {
    const seen = new Map<string, number>();
    const queue = DOCUMENTS.map((p) => `${PUBLIC}${p}`);
    const texts: string[] = [];
    while (queue.length > 0 && seen.size < 200) {
      const url = queue.shift()!;
      const key = new URL(url).pathname;
      if (seen.has(key)) continue;
      const res = await fetch(local(url), { redirect: 'manual' });
      seen.set(key, res.status);
      const type = res.headers.get('content-type') ?? '';
      const text = await res.text();
      if (res.status === 200 && /json|text\/plain/.test(type)) {
        texts.push(text);
        for (const found of urlsIn(text)) queue.push(found);
      }
    }
    // The documents themselves must be served.
    for (const p of DOCUMENTS) expect(seen.get(p), p).toBe(200);
    const broken = [...seen].filter(([, status]) => status === 404 || status >= 500);
    expect(broken, JSON.stringify(broken)).toEqual([]);
    // Everything advertised is absolute and on the public URL (never the bind address).
    for (const text of texts) expect(text).not.toContain(g.url);
    // The agent endpoints are among what was followed.
    for (const p of ['/mcp', '/a2a', '/register', '/openapi.json', '/docs'])
      expect(seen.has(p), `followed ${p}`).toBe(true);
    expect([401, 405]).toContain(seen.get('/mcp'));
  });

  it('every fixed path in the OpenAPI document exists for its method', async () => {
    const doc = (await (await fetch(`${g.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const failures: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      if (path.includes('{')) continue;
      for (const method of Object.keys(item)) {
        const res = await fetch(`${g.url}${path}`, {
          method: method.toUpperCase(),
          headers: method === 'get' ? {} : { 'content-type': 'application/json' },
          ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
        });
        await res.arrayBuffer();
        if (res.status === 404 || res.status === 405 || res.status >= 500)
          failures.push(`${method.toUpperCase()} ${path} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('an agent can go from the host name to a working key', async () => {
    const prm = (await (await fetch(`${g.url}/.well-known/oauth-protected-resource`)).json()) as {
      resource_documentation: string;
    };
    expect(prm.resource_documentation.startsWith(PUBLIC)).toBe(true);
    const llms = await (await fetch(`${g.url}/llms.txt`)).text();
    expect(llms).toContain(`${PUBLIC}/register`);
    const signUp = await fetch(`${g.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `agent-${Date.now()}@example.com`, password: 'an agent passphrase 123' }),
    });
    expect(signUp.status).toBe(201);
    const { api_key: apiKey, base_url: baseUrl } = (await signUp.json()) as {
      api_key: string;
      base_url: string;
    };
    expect(baseUrl).toBe(`${PUBLIC}/v1`);
    const models = await fetch(`${g.url}/v1/models`, { headers: { 'x-api-key': apiKey } });
    expect(models.status).toBe(200);
  });
});
