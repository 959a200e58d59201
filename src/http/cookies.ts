import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';

/** Whether cookies must carry `Secure`: the platform is served over https. */
export const cookiesAreSecure = (publicUrl: string) => publicUrl.startsWith('https:');

/**
 * Cookie parsing (`request.cookies`) and writing (`reply.setCookie` / `reply.clearCookie`) for the
 * whole app. Every cookie of ours is HttpOnly, SameSite=Lax, Path=/ and, when the public URL is
 * https, Secure: these are the defaults, so call sites only choose a name, a value and a lifetime.
 */
export async function registerCookies(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(fastifyCookie, {
    parseOptions: { path: '/', httpOnly: true, sameSite: 'lax', secure: cookiesAreSecure(publicUrl) },
  });
}
