import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { formatMicros } from '../shared/money.js';
import type { UsageRecordList, UsageRecordQuery } from './routes/billing-schemas.js';

/**
 * A tenant's usage records, newest first: one per metered request, with the route that answered, the
 * routes tried and the response-cache outcome. `before` (a request id from an earlier page) continues
 * a listing; the (tenant, time) index serves it.
 */
export async function listUsageRecords(
  db: Db,
  tenantId: string,
  query: UsageRecordQuery,
): Promise<UsageRecordList> {
  let cursor: { created_at: number; request_id: string } | undefined;
  if (query.before) {
    cursor = await db
      .selectFrom('usage_records')
      .select(['created_at', 'request_id'])
      .where('tenant_id', '=', tenantId)
      .where('request_id', '=', query.before)
      .executeTakeFirst();
    if (!cursor)
      throw new ApiError('invalid_parameter', "'before' is not a usage record of this account.", 'before');
  }
  let q = db.selectFrom('usage_records').selectAll().where('tenant_id', '=', tenantId);
  if (cursor) {
    const { created_at, request_id } = cursor;
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', created_at),
        eb.and([eb('created_at', '=', created_at), eb('request_id', '<', request_id)]),
      ]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('request_id', 'desc')
    .limit(query.limit + 1)
    .execute();
  return {
    object: 'list',
    data: rows.slice(0, query.limit).map((r) => ({
      request_id: r.request_id,
      created: Math.floor(Number(r.created_at) / 1000),
      key_id: r.key_id,
      model: r.model,
      endpoint: r.endpoint,
      provider: r.provider,
      upstream_model: r.upstream_model,
      attempts: r.attempts ?? null,
      cache: r.cache ?? null,
      status: Number(r.status),
      streamed: Number(r.streamed) === 1,
      estimated: Number(r.estimated) === 1,
      prompt_tokens: Number(r.prompt_tokens),
      completion_tokens: Number(r.completion_tokens),
      cached_tokens: Number(r.cached_tokens),
      cache_write_tokens: Number(r.cache_write_tokens),
      cost: formatMicros(Number(r.cost_micros)),
      cost_picos: Number(r.cost_picos),
      latency_ms: Number(r.latency_ms),
    })),
    has_more: rows.length > query.limit,
  };
}
