import type { FastifyReply, FastifyRequest } from 'fastify';

/** Attributes of a cookie we set. Every cookie of ours is HttpOnly, SameSite=Lax and Path=/. */
export interface CookieOptions {
  /** Add `Secure` (the public URL is https). */
  secure: boolean;
  /** Lifetime in seconds; omitted → a browser-session cookie; 0 → delete. */
  maxAgeSeconds?: number;
}

/** Whether cookies must carry `Secure`: the platform is served over https. */
export const cookiesAreSecure = (publicUrl: string) => publicUrl.startsWith('https:');

/** Reads one cookie from the request's Cookie header (first occurrence wins). */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Appends a Set-Cookie header (Fastify keeps several Set-Cookie headers apart). */
export function setCookie(reply: FastifyReply, name: string, value: string, opts: CookieOptions): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`);
  if (opts.secure) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}

export function clearCookie(reply: FastifyReply, name: string, opts: Pick<CookieOptions, 'secure'>): void {
  setCookie(reply, name, '', { secure: opts.secure, maxAgeSeconds: 0 });
}
