import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../shared/errors.js';
import { type Authenticated, defineRoute, guard, publicRoute } from './define-route.js';
import { installErrorHandling } from './error-handler.js';
import { installZodSchemas, responseMismatch } from './zod-schemas.js';

const item = z.object({ id: z.string(), tags: z.array(z.string()) });

let app: FastifyInstance;
afterEach(() => app?.close());

async function build(checkResponses: boolean, answer: unknown = { id: 'a', tags: [] }) {
  app = Fastify();
  installZodSchemas(app, { checkResponses });
  installErrorHandling(app, 'http://localhost', () => []);
  const calls: string[] = [];
  const signedIn = guard<Authenticated>('apiKey', async (request) => {
    calls.push('guard');
    if (request.headers.authorization !== 'Bearer ok') throw new ApiError('missing_api_key', 'No key.');
  });
  defineRoute(app, {
    method: 'POST',
    url: '/items/:id',
    guard: signedIn,
    doc: { summary: 'Create', description: 'Creates.', tags: ['Items'] },
    schema: {
      params: z.object({ id: z.string().max(4) }),
      body: z.object({
        name: z.string(),
        count: z.number().int().default(1),
        nested: z.array(item).optional(),
      }),
      response: { 200: z.object({ id: z.string(), name: z.string(), count: z.number() }) },
    },
    handler: async (request) => ({
      id: request.params.id,
      name: request.body.name,
      count: request.body.count,
    }),
  });
  defineRoute(app, {
    method: 'POST',
    url: '/defaults',
    guard: publicRoute,
    doc: { summary: 'Defaults', description: 'All optional.', tags: ['Items'] },
    bodyOptional: true,
    schema: { body: z.object({ n: z.number().default(7) }) },
    handler: async (request) => ({ n: request.body.n }),
  });
  defineRoute(app, {
    method: 'GET',
    url: '/answer',
    guard: publicRoute,
    doc: { summary: 'Answer', description: 'Whatever the test set.', tags: ['Items'] },
    schema: { response: { 200: item } },
    handler: async () => answer as z.input<typeof item>,
  });
  await app.ready();
  return calls;
}

const post = (url: string, payload?: string, auth = 'Bearer ok') =>
  app.inject({
    method: 'POST',
    url,
    headers: {
      authorization: auth,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload !== undefined ? { payload } : {}),
  });

describe('defineRoute: one schema validates, types and documents a route', () => {
  it('names the missing or invalid parameter the way OpenAI does', async () => {
    await build(false);
    const missing = await post('/items/x', '{}');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({
      type: 'invalid_request_error',
      code: 'missing_required_parameter',
      param: 'name',
    });
    const nested = await post('/items/x', '{"name":"n","nested":[{"id":"a","tags":[1]}]}');
    expect(nested.json().error).toMatchObject({ code: 'invalid_parameter', param: 'nested[0].tags[0]' });
    const param = await post('/items/toolong', '{"name":"n"}');
    expect(param.json().error).toMatchObject({ code: 'invalid_parameter', param: 'id' });
  });

  it('answers an empty body, a non-object body and bad JSON as today', async () => {
    await build(false);
    expect((await post('/items/x')).json().error.code).toBe('invalid_json');
    expect((await post('/items/x', 'null')).json().error.code).toBe('invalid_request');
    expect((await post('/items/x', '[1]')).json().error.code).toBe('invalid_request');
    expect((await post('/items/x', '{"name":')).json().error.code).toBe('invalid_json');
  });

  it('runs the guard before validation, so a caller without a key learns nothing about the body', async () => {
    const calls = await build(false);
    const res = await post('/items/x', '{}', 'Bearer wrong');
    expect(res.statusCode).toBe(401);
    expect(calls).toEqual(['guard']);
  });

  it('hands the handler parsed values (defaults applied), and an optional body defaults to {}', async () => {
    await build(false);
    expect((await post('/items/x', '{"name":"n"}')).json()).toEqual({ id: 'x', name: 'n', count: 1 });
    expect((await post('/defaults')).json()).toEqual({ n: 7 });
  });

  it('checks responses against their schema only when asked', async () => {
    await build(false, { id: 'a', tags: 'nope' });
    expect((await app.inject('/answer')).statusCode).toBe(200);
    await app.close();
    await build(true, { id: 'a', tags: 'nope' });
    const res = await app.inject('/answer');
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('internal_error');
  });
});

describe('responseMismatch', () => {
  it('finds wrong types and fields the schema does not document', () => {
    expect(responseMismatch(item, { id: 'a', tags: [] })).toBeNull();
    expect(responseMismatch(item, { id: 'a', tags: [1] })).toMatch(/^tags\.0: /);
    expect(responseMismatch(z.array(item), [{ id: 'a', tags: [], secret: 'x' }])).toBe(
      '[0].secret: not in the documented schema',
    );
    // What JSON drops is not a field: undefined values are fine.
    expect(responseMismatch(item, { id: 'a', tags: [], later: undefined })).toBeNull();
    // Loose objects document their extra fields as allowed.
    expect(responseMismatch(z.looseObject({ id: z.string() }), { id: 'a', more: 1 })).toBeNull();
  });
});
