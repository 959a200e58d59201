/**
 * Type checks for A2A JSON-RPC params the SDK uses without checking their types: its v0.3 layer
 * translates optional fields to v1.0 as they come, and v1.0 decodes a part's `raw` bytes from
 * whatever it is given, so e.g. a numeric `taskId` or a string `file` part became an internal error.
 * Here they are refused as invalid params, naming the field. Fields the SDK checks itself (a missing
 * `messageId`, an empty task id) are left to it, and unknown fields pass.
 */
import { z } from 'zod';
import { paramName } from '../http/validation.js';

const strings = z.array(z.string());
const object = z.record(z.string(), z.unknown());

const filePart = z
  .looseObject({
    bytes: z.string().optional(),
    uri: z.string().optional(),
    mimeType: z.string().nullish(),
    name: z.string().nullish(),
  })
  .refine((file) => file.bytes !== undefined || file.uri !== undefined, {
    message: 'must carry `bytes` or `uri`',
  });

const part = z.looseObject({
  kind: z.string().optional(),
  text: z.string().optional(),
  file: filePart.optional(),
  data: object.optional(),
  metadata: object.nullish(),
});

const message = z.looseObject({
  kind: z.string().optional(),
  messageId: z.string().optional(),
  role: z.string().optional(),
  parts: z.array(part).optional(),
  contextId: z.string().nullish(),
  taskId: z.string().nullish(),
  metadata: object.nullish(),
  extensions: strings.nullish(),
  referenceTaskIds: strings.nullish(),
});

const messageParams = z.looseObject({
  message: message.optional(),
  configuration: z
    .looseObject({
      acceptedOutputModes: strings.nullish(),
      historyLength: z.number().int().nonnegative().nullish(),
      blocking: z.boolean().nullish(),
      pushNotificationConfig: object.nullish(),
    })
    .nullish(),
  metadata: object.nullish(),
});

const taskParams = z.looseObject({
  id: z.string().nullish(),
  historyLength: z.number().int().nonnegative().nullish(),
  metadata: object.nullish(),
});

/** v1.0 (protobuf JSON): `raw` holds base64 bytes. */
const v1MessageParams = z.looseObject({
  message: z
    .looseObject({ parts: z.array(z.looseObject({ raw: z.string().optional() })).optional() })
    .optional(),
});

const V1_PARAMS_BY_METHOD: Record<string, z.ZodType> = {
  SendMessage: v1MessageParams,
  SendStreamingMessage: v1MessageParams,
};

const LEGACY_PARAMS_BY_METHOD: Record<string, z.ZodType> = {
  'message/send': messageParams,
  'message/stream': messageParams,
  'tasks/get': taskParams,
  'tasks/cancel': taskParams,
  'tasks/resubscribe': taskParams,
};

/** Why the params of a call are refused, or undefined when they may go to the SDK. */
export function a2aParamsProblem(legacy: boolean, method: unknown, params: unknown): string | undefined {
  const schemas = legacy ? LEGACY_PARAMS_BY_METHOD : V1_PARAMS_BY_METHOD;
  const schema = typeof method === 'string' ? schemas[method] : undefined;
  if (!schema || typeof params !== 'object' || params === null) return undefined;
  const result = schema.safeParse(params);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const path = paramName(['params', ...(issue?.path ?? [])]);
  const reason = (issue?.message ?? 'not valid').replace(/^Invalid input: /, '');
  return `Invalid method parameters: ${path}: ${reason}.`;
}
