import type {
  FastifyInstance,
  FastifySchemaCompiler,
  FastifySerializerCompiler,
  FastifyTypeProvider,
} from 'fastify';
import type { z } from 'zod';
import { ApiError } from '../shared/errors.js';
import { describeIssue } from './validation.js';

/**
 * Fastify's type provider for zod: a route's `schema.body`, `schema.querystring` and `schema.params`
 * type its request, and `schema.response` types what the handler may send (before serialization).
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

/**
 * Validates one request part with its zod schema. The parsed value replaces the raw one (defaults and
 * coercions applied); a failure is the same OpenAI-style 400 a handler would throw, naming the
 * parameter at fault. An absent body never reaches here as such: the route's body check (see
 * `defineRoute`) answers it first, so a `null` body is the JSON literal.
 */
const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data: unknown) => {
    if (httpPart === 'body' && (data === null || typeof data !== 'object' || Array.isArray(data)))
      return { error: new ApiError('invalid_request', 'The request body must be a JSON object.') };
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: describeIssue(result.error.issues[0]!, data) };
  };

/** A response that does not match the schema its route documents: a bug in the handler or the schema. */
export class ResponseSchemaMismatch extends Error {
  override name = 'ResponseSchemaMismatch';
}

/**
 * Where `data` breaks `schema`: the first zod issue, or a field the schema does not document (which
 * parsing would silently drop). Null when the response is exactly what the document promises.
 */
export function responseMismatch(schema: z.ZodType, data: unknown): string | null {
  // Through JSON first: the check sees what the client will see (no `undefined`, dates as strings).
  const wire: unknown = data === undefined ? undefined : JSON.parse(JSON.stringify(data));
  const result = schema.safeParse(wire);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
  }
  const extra = undocumentedField(wire, result.data, '');
  return extra === null ? null : `${extra}: not in the documented schema`;
}

function undocumentedField(sent: unknown, parsed: unknown, path: string): string | null {
  if (Array.isArray(sent) && Array.isArray(parsed)) {
    for (let i = 0; i < sent.length; i++) {
      const found = undocumentedField(sent[i], parsed[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (!isPlainObject(sent) || !isPlainObject(parsed)) return null;
  for (const [key, value] of Object.entries(sent)) {
    const at = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(parsed, key)) return at;
    const found = undocumentedField(value, parsed[key], at);
    if (found) return found;
  }
  return null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Serializes JSON responses. With `checkResponses` (tests, development) every response is first
 * checked against the schema its route documents for that status, and a mismatch fails the request
 * loudly; without it (production) this is plain `JSON.stringify`, so the check costs nothing there.
 */
function serializerCompiler(checkResponses: boolean): FastifySerializerCompiler<z.ZodType> {
  const stringify = (data: unknown) => JSON.stringify(data);
  if (!checkResponses) return () => stringify;
  return ({ schema, method, url, httpStatus }) =>
    (data: unknown) => {
      const mismatch = responseMismatch(schema, data);
      if (mismatch)
        throw new ResponseSchemaMismatch(
          `${method} ${url} answered ${httpStatus} with a body its schema does not allow: ${mismatch}`,
        );
      return stringify(data);
    };
}

/** Makes zod schemas in route declarations validate requests and (optionally) check responses. */
export function installZodSchemas(app: FastifyInstance, opts: { checkResponses: boolean }): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler(opts.checkResponses));
}
