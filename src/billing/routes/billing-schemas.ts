import { z } from 'zod';

const usd = z.string().describe('USD amount as a decimal string with six decimals, e.g. "4.999875"');

export const balanceSchema = z.object({
  object: z.literal('balance'),
  balance: usd,
  currency: z.literal('USD'),
  granted: usd,
  consumed: usd,
  reserved: usd,
  available: usd,
  balance_micros: z.number().int(),
});

export const usageQuerySchema = z.object({
  from: z
    .string()
    .max(40)
    .optional()
    .describe(
      'Start, inclusive: YYYY-MM-DD, an ISO 8601 time, or Unix seconds. Default: start of this month.',
    ),
  to: z
    .string()
    .max(40)
    .optional()
    .describe(
      'End: YYYY-MM-DD (that whole day included), an ISO 8601 time, or Unix seconds (exclusive). Default: now.',
    ),
  group_by: z
    .enum(['model', 'day', 'endpoint'])
    .default('model')
    .describe(
      '`endpoint` splits each model by API surface (chat.completions, responses, messages, …), from raw usage records',
    ),
});

const usageRowSchema = z.object({
  day: z.string().optional().describe('YYYY-MM-DD (UTC), with group_by=day'),
  endpoint: z.string().optional().describe('API surface, e.g. responses or messages, with group_by=endpoint'),
  model: z.string(),
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cost: usd,
});

export const usageReportSchema = z.object({
  object: z.literal('list'),
  from: z.string(),
  to: z.string(),
  group_by: z.enum(['model', 'day', 'endpoint']),
  data: z.array(usageRowSchema),
  total: usageRowSchema.omit({ day: true, endpoint: true, model: true }),
});

export const usageRecordQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Records per page, 1 to 100'),
  before: z
    .string()
    .max(80)
    .optional()
    .describe('A request id from an earlier page: the records older than it'),
});

const usageRecordSchema = z.object({
  request_id: z.string().describe('The X-Request-Id of the request'),
  created: z.number().int().describe('Unix seconds when it was settled'),
  key_id: z.string().nullable(),
  model: z.string(),
  endpoint: z.string().describe('API surface, e.g. chat.completions or responses'),
  provider: z.string().nullable().describe('The provider that answered; null when none did'),
  upstream_model: z.string().nullable().describe('The upstream model that answered'),
  attempts: z
    .number()
    .int()
    .nullable()
    .describe(
      'Routes tried, the answering one included (2: the first failed, the next answered); 0 when the response cache answered; null on records from before it was kept',
    ),
  cache: z
    .enum(['hit', 'miss'])
    .nullable()
    .describe(
      'Whether the response cache answered; null when the model does not cache or the request did not qualify',
    ),
  status: z.number().int().describe('HTTP status the client saw'),
  streamed: z.boolean(),
  estimated: z.boolean().describe('Tokens counted by the gateway because the upstream reported none'),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
  cost: usd.describe('USD, rounded down to the micro-dollar'),
  cost_picos: z.number().int().describe('The pico-dollars below `cost` (0 to 999999)'),
  latency_ms: z.number().int(),
});

export const usageRecordListSchema = z.object({
  object: z.literal('list'),
  data: z.array(usageRecordSchema),
  has_more: z.boolean().describe('More records are older than the last one: pass its request_id as `before`'),
});

const invoiceLineSchema = z.object({
  model: z.string(),
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  amount: usd,
  amount_micros: z.number().int(),
  carried_from: z
    .string()
    .optional()
    .describe(
      'YYYY-MM: set on a line carrying usage of an earlier month that reached it after that month was closed',
    ),
});

const invoicePaymentSchema = z.object({
  payment_id: z.string(),
  paid_at: z.number().int().describe('Unix seconds'),
  kind: z.enum(['checkout', 'auto']),
  credits: usd.describe('USD of credit bought'),
  amount_paid: z
    .number()
    .int()
    .nullable()
    .describe('What the customer paid, taxes included, in the smallest unit of `currency`'),
  currency: z.string(),
  reference: z.string().nullable().describe('The Stripe PaymentIntent'),
  reversed: usd.describe('USD of credit taken back since (refunds, disputes)'),
});

export const invoiceSchema = z.object({
  id: z.string(),
  object: z.literal('invoice'),
  tenant_id: z.string(),
  period: z.string().describe('YYYY-MM (UTC)'),
  status: z.string(),
  currency: z.string(),
  total: usd,
  total_micros: z.number().int(),
  lines: z.array(invoiceLineSchema),
  payments: z.array(invoicePaymentSchema).describe('Card payments received within the period'),
  payments_total: usd.describe('USD of credit bought within the period (not part of `total`)'),
  period_start: z.string(),
  period_end: z.string(),
  created: z.number().int(),
});

export const invoiceListSchema = z.object({ object: z.literal('list'), data: z.array(invoiceSchema) });

export const invoiceParams = z.object({ id: z.string().max(80) });
export const invoiceQuerySchema = z.object({ format: z.enum(['json', 'html']).default('json') });

export const grantRequestSchema = z.object({
  amount: z
    .union([z.number(), z.string().max(24)])
    .describe('USD, up to six decimals; negative for a correction (adjustment)'),
  note: z.string().max(500).optional(),
});

export const grantResponseSchema = z.object({
  object: z.literal('credit_grant'),
  tenant_id: z.string(),
  kind: z.enum(['grant', 'adjustment']),
  amount: usd,
  applied: z.boolean(),
  balance: balanceSchema,
});

export const closeRequestSchema = z.object({
  period: z.string().max(7).describe('YYYY-MM (UTC)'),
});

export const closeResponseSchema = z.object({
  object: z.literal('invoice_close'),
  period: z.string(),
  created: z.number().int(),
  data: z.array(invoiceSchema),
});

/** The usage report's query, as validated. */
export type UsageQuery = z.infer<typeof usageQuerySchema>;
/** `GET /admin/usage` as the API answers it and the dashboard charts it. */
export type UsageReport = z.infer<typeof usageReportSchema>;
/** One row of the usage report: per model, or per day and model. */
export type UsageRow = z.infer<typeof usageRowSchema>;
export type InvoiceList = z.infer<typeof invoiceListSchema>;
export type UsageRecordQuery = z.infer<typeof usageRecordQuerySchema>;
/** `GET /admin/usage/records` as the API answers it. */
export type UsageRecordList = z.infer<typeof usageRecordListSchema>;
