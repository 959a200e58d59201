import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { defineRoute, publicRoute } from '../../http/define-route.js';
import { putFlash, writeSessionCookie } from '../../http/session-auth.js';
import { ApiError } from '../../shared/errors.js';
import { formatMicros } from '../../shared/money.js';
import { nounFor } from '../../shared/plural.js';
import {
  formCsrfGuard,
  formErrorCode,
  formErrorsRedirectTo,
  isFormPost,
  redirectWithError,
} from './form-flow.js';

/** Account creation, the sign-up limit, verification mail, the starting balance and the new session. */
export type SignUpDeps = Pick<
  Container,
  'accounts' | 'billing' | 'config' | 'emailFlows' | 'limiter' | 'sessions' | 'flash'
>;

export const registerRequestSchema = z.object({
  email: z.string().max(320).describe('Owner email; also the login'),
  password: z.string().max(1024).describe('At least 10 characters'),
  name: z.string().max(200).optional().describe('Display name of the tenant'),
});

export const registerResponseSchema = z.object({
  tenant_id: z.string(),
  key_id: z.string(),
  api_key: z.string().describe('Shown once; only its hash is stored'),
  plan: z.string(),
  credits: z.string().describe('Trial credits granted, USD'),
  base_url: z.string(),
});

/** What the dashboard finds in the flash store right after a form sign-up. */
export interface SignUpFlash {
  kind: 'new_api_key';
  keyId: string;
  apiKey: string;
}

/**
 * `POST /register`: a new tenant on the sign-up plan with its first API key. JSON callers get the key
 * in the 201 body; the HTML form gets a session and a redirect to the dashboard, which shows the key
 * once (from the in-memory flash store, so it is never stored).
 */
export function registerSignUpRoute(app: FastifyInstance, deps: SignUpDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/register',
    guard: publicRoute,
    doc: {
      summary: 'Create an account (tenant, owner and first API key)',
      description:
        'Signs up a new tenant on the sign-up plan with trial credits. The API key is in this response only; the password signs in to the dashboard. Sign-ups are limited per client address.',
      tags: ['Accounts'],
    },
    // The sign-up form posts here too: its CSRF token is checked before its fields.
    preValidation: [formCsrfGuard],
    // A form that fails goes back to the form with the reason; an API caller gets the JSON error.
    errorHandler: formErrorsRedirectTo('/register', (err) => err instanceof ApiError),
    schema: { body: registerRequestSchema, response: { 201: registerResponseSchema } },
    handler: async (request, reply) =>
      isFormPost(request)
        ? signUpByForm(deps, request, reply, request.body)
        : signUpByApi(deps, request, reply, request.body),
  });
}

type SignUp = z.output<typeof registerRequestSchema>;

/** Every sign-up grants trial credits, so each client address gets only a few a minute. */
async function assertSignupAllowed(
  deps: SignUpDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const decision = await deps.limiter.checkSignup(request.addressKey);
  if (decision.allowed) return;
  const retryAfter = String(decision.retryAfter ?? 60);
  reply.header('retry-after', retryAfter);
  throw new ApiError(
    'rate_limit_exceeded',
    `Too many sign-ups from this address. Retry after ${retryAfter} ${nounFor(Number(retryAfter), 'second')}.`,
    null,
    { 'retry-after': retryAfter },
  );
}

/** A self-service account (limited per address), with the verification mail when one is required. */
async function createSelfSignUp(
  deps: SignUpDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  body: SignUp,
) {
  await assertSignupAllowed(deps, request, reply);
  const account = await deps.accounts.createAccount({
    email: body.email,
    password: body.password,
    ...(body.name ? { name: body.name } : {}),
    actor: 'self-signup',
    ip: request.ip,
  });
  if (account.verificationRequired)
    await deps.emailFlows.sendVerification(account.userId!, account.tenant.email);
  return account;
}

async function signUpByApi(deps: SignUpDeps, request: FastifyRequest, reply: FastifyReply, body: SignUp) {
  const account = await createSelfSignUp(deps, request, reply, body);
  return reply
    .code(201)
    .header('cache-control', 'no-store')
    .send({
      tenant_id: account.tenant.id,
      key_id: account.keyId,
      api_key: account.apiKey,
      plan: account.tenant.plan,
      credits: formatMicros(await deps.billing.balanceMicros(account.tenant.id)),
      base_url: `${deps.config.publicUrl}/v1`,
    } satisfies z.infer<typeof registerResponseSchema>);
}

async function signUpByForm(deps: SignUpDeps, request: FastifyRequest, reply: FastifyReply, body: SignUp) {
  try {
    await signUpWithSession(deps, request, reply, body);
  } catch (err) {
    return redirectWithError(reply, '/register', formErrorCode(err));
  }
  return reply.header('cache-control', 'no-store').redirect('/dashboard', 303);
}

/**
 * The form sign-up: a new account (limited per address, trial credits, verification mail when
 * required) and a dashboard session whose next page shows the first key once. Writes the cookies;
 * throws ApiErrors. Used by the sign-up form and by the OAuth authorization page.
 */
export async function signUpWithSession(
  deps: SignUpDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  body: SignUp,
) {
  const account = await createSelfSignUp(deps, request, reply, body);
  const session = await deps.sessions.create(account.userId!, account.tenant.id);
  putFlash(deps, reply, session, {
    kind: 'new_api_key',
    keyId: account.keyId,
    apiKey: account.apiKey,
  } satisfies SignUpFlash);
  writeSessionCookie(reply, session);
  return { account, session };
}
