/**
 * Small HTTP helpers for the account and operator tests: JSON, forms, cookies. `base` is a server's
 * URL (real HTTP) or an in-process app (`app.inject`), answered in the same shape either way.
 */
import type { FastifyInstance } from 'fastify';

export interface CallOptions {
  key?: string;
  /** Raw Cookie header. */
  cookie?: string;
  csrf?: string;
  /** JSON body. */
  json?: unknown;
  /** Form body (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
  /** Set-Cookie headers, one per cookie. */
  cookies: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are inspected loosely
export async function call<T = any>(
  base: string | FastifyInstance,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  if (typeof base !== 'string') return injected<T>(base, method, path, headers, body);
  const res = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  return {
    status: res.status,
    body: parseText<T>(text),
    headers: res.headers,
    cookies: res.headers.getSetCookie(),
  };
}

function parseText<T>(text: string): T {
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    // not JSON (redirects, HTML)
    return text as T;
  }
}

async function injected<T>(
  app: FastifyInstance,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<CallResult<T>> {
  const res = await app.inject({
    method: method as 'GET',
    url: path,
    headers,
    ...(body !== undefined ? { payload: body } : {}),
  });
  const out = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) out.append(name, String(one));
  }
  return { status: res.statusCode, body: parseText<T>(res.body), headers: out, cookies: out.getSetCookie() };
}

/** `name=value` of a cookie in Set-Cookie headers, for sending back. */
export function cookiePair(setCookies: string[], name: string): string | undefined {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

/** Logs in over JSON and returns the session cookie and its CSRF token. */
export async function loginJson(base: string | FastifyInstance, email: string, password: string) {
  const res = await call(base, 'POST', '/login', { json: { email, password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  const cookie = cookiePair(res.cookies, 'simo_session');
  if (!cookie) throw new Error('no session cookie');
  return { cookie, csrf: res.body.csrf_token as string, body: res.body };
}
