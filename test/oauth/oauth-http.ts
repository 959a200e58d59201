/**
 * Drives the authorization server over plain HTTP the way a browser and a client would: a cookie jar,
 * redirects followed by hand, PKCE. For tests of the protocol itself; the browser test drives the
 * same pages in Chromium.
 */
import { createHash, randomBytes } from 'node:crypto';
import { startTestGatewayAt, type TestGateway } from '../support/gateway.js';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Cookies by name, as a browser would keep them for one site. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** A fetch that keeps cookies and does not follow redirects. */
export async function browse(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string | string[]> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { cookie: jar.header() };
  let body: string | undefined;
  if (init.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(init.form)) for (const item of [v].flat()) params.append(k, item);
    body = params.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, {
    method: init.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    redirect: 'manual',
  });
  jar.store(res);
  return res;
}

export async function registerClient(
  base: string,
  metadata: Record<string, unknown> = {},
): Promise<{ client_id: string } & Record<string, unknown>> {
  const res = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Test agent',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  const body = (await res.json()) as { client_id: string };
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export interface AuthorizeOptions {
  clientId: string;
  scope?: string;
  resource?: string;
  challenge?: string | null;
  redirectUri?: string;
  state?: string;
}

export function authorizeUrl(base: string, opts: AuthorizeOptions): string {
  const url = new URL(`${base}/oauth/authorize`);
  url.searchParams.set('client_id', opts.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', opts.redirectUri ?? REDIRECT_URI);
  url.searchParams.set('scope', opts.scope ?? 'inference');
  url.searchParams.set('state', opts.state ?? 'st4te');
  if (opts.resource !== undefined) url.searchParams.set('resource', opts.resource);
  if (opts.challenge !== null && opts.challenge !== undefined) {
    url.searchParams.set('code_challenge', opts.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url.href;
}

/** Follows same-site redirects until one leaves the server (or a page answers). */
export async function follow(jar: CookieJar, base: string, res: Response): Promise<Response | URL> {
  let current = res;
  for (let i = 0; i < 10; i++) {
    const location = current.headers.get('location');
    if (current.status < 300 || current.status >= 400 || !location) return current;
    const next = new URL(location, base);
    if (next.origin !== new URL(base).origin) return next;
    current = await browse(jar, next.href);
  }
  throw new Error('too many redirects');
}

/**
 * A member signs in (JSON login, the session cookie kept), opens the authorization URL and approves
 * `approve` (default: everything offered). Answers the code and the redirect it came back on.
 */
export async function authorize(
  base: string,
  opts: AuthorizeOptions & { email: string; password: string; approve?: string[] },
): Promise<{ code: string; redirect: URL; jar: CookieJar }> {
  const { jar, csrf } = await signIn(base, opts);
  const page = await follow(jar, base, await browse(jar, authorizeUrl(base, opts)));
  if (page instanceof URL) throw new Error(`no consent page: redirected to ${page.href}`);
  const pageUrl = new URL(page.url);
  const html = await page.text();
  if (!/id="oauth-consent"/.test(html))
    throw new Error(`not the consent page: ${page.status} ${html.slice(0, 300)}`);
  const offered = [...html.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => m[1]!);
  const confirm = await browse(jar, `${pageUrl.origin}${pageUrl.pathname}/confirm`, {
    form: { _csrf: csrf, scope: opts.approve ?? offered },
  });
  const redirect = await follow(jar, base, confirm);
  if (!(redirect instanceof URL))
    throw new Error(
      `no redirect to the client: ${redirect.status} ${redirect.url} ${(await redirect.text()).replace(/\s+/g, ' ').slice(-1500)}`,
    );
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect.href}`);
  return { code, redirect, jar };
}

/** A member signs in with the JSON login: the session cookie in a new jar, and the form token. */
export async function signIn(
  base: string,
  user: { email: string; password: string },
): Promise<{ jar: CookieJar; csrf: string }> {
  const jar = new CookieJar();
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  jar.store(login);
  const { csrf_token: csrf } = (await login.json()) as { csrf_token: string };
  return { jar, csrf };
}

/**
 * A new client, authorized by `user` with PKCE: its id, and the token request that exchanges the code
 * (sent to any replica of the issuer).
 */
export async function authorizedCode(
  issuer: string,
  user: { email: string; password: string },
  opts: { scope?: string; approve?: string[]; resource?: string } = {},
): Promise<{ clientId: string; code: string; verifier: string; exchange: Record<string, string> }> {
  const client = await registerClient(issuer);
  const { verifier, challenge } = pkce();
  const { code } = await authorize(issuer, {
    clientId: client.client_id,
    challenge,
    email: user.email,
    password: user.password,
    ...opts,
  });
  const exchange: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: client.client_id,
    code_verifier: verifier,
    ...(opts.resource !== undefined ? { resource: opts.resource } : {}),
  };
  return { clientId: client.client_id, code, verifier, exchange };
}

export async function tokenRequest(base: string, params: Record<string, string>) {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  // biome-ignore lint/suspicious/noExplicitAny: token responses are inspected loosely
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/**
 * A gateway on PostgreSQL (where parallel requests really run side by side) that is its own OAuth
 * issuer: its public URL is the address it listens on.
 */
export function startIssuerOnPostgres(): Promise<TestGateway> {
  return startTestGatewayAt((_port, url) => ({ dialect: 'postgres', env: { SIMO_PUBLIC_URL: url } }));
}
