import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { formatMicros, usdToMicros } from '../../billing/money.js';
import type { Container } from '../../container.js';
import { parseBody } from '../../http/validation.js';

export const registerRequestSchema = z.object({
  email: z.string().max(320),
  password: z.string().max(1024),
  name: z.string().max(200).optional(),
});

/** `POST /register` (JSON): a new tenant on the sign-up plan, with its first API key shown once. */
export function registerSignUpRoute(app: FastifyInstance, c: Container): void {
  app.post('/register', async (request, reply) => {
    const body = parseBody(registerRequestSchema, request.body);
    const account = await c.accounts.createAccount({
      email: body.email,
      password: body.password,
      ...(body.name ? { name: body.name } : {}),
      actor: 'self-signup',
      ip: request.ip,
    });
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({
        tenant_id: account.tenant.id,
        key_id: account.keyId,
        api_key: account.apiKey,
        plan: account.tenant.plan,
        credits: formatMicros(usdToMicros(c.config.signup.trialCredits)),
        base_url: `${c.config.publicUrl}/v1`,
      });
  });
}
