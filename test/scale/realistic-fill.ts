/**
 * Fills a migrated PostgreSQL database with production-like volumes, server-side (`insert … select …
 * from generate_series`), in seconds. The shape is skewed like real traffic: a tenth of the tenants
 * make all the requests, one heavy tenant ('ten_0') a tenth of them, and one busy webhook endpoint
 * ('wh_0') a tenth of the deliveries. Ids grow with time, as they do in production.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { previousPeriod } from '../../src/billing/periods.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export const SIZES = {
  tenants: 20_000,
  /** Tenants that make requests; the rest are signed up but idle. */
  activeTenants: 2_000,
  apiKeys: 40_000,
  usageRecords: 1_000_000,
  /** Raw records span this many days back from now (the retention window). */
  usageDays: 90,
  /** Roll-ups outlive raw records: this many further days of history before the raw window. */
  olderRollupDays: 180,
  ledgerUsageRows: 300_000,
  auditRows: 200_000,
  outboxEvents: 50_000,
  webhooks: 5_000,
  deliveries: 200_000,
  sessions: 20_000,
  /** Sign-in attempts of the last 15 minutes: a password spray across many emails. */
  loginAttempts: 50_000,
  /** The stored hash of key_12345 (keys' hashes are md5('key'||n) || md5('hash'||n)). */
  sampleKeyHash: md5('key12345') + md5('hash12345'),
} as const;

const DAY_MS = 86_400_000;

/** Runs the fill; returns how long each table took (ms). */
export async function fillRealisticData(client: pg.Client, now: number): Promise<Array<[string, number]>> {
  const S = SIZES;
  const span = S.usageDays * DAY_MS;
  const timings: Array<[string, number]> = [];
  const step = async (name: string, ...statements: string[]) => {
    const t = performance.now();
    for (const s of statements) await client.query(s);
    timings.push([name, performance.now() - t]);
  };
  // A throwaway test database: losing the last commits on a crash does not matter, speed does.
  await client.query('set synchronous_commit = off');
  await client.query("set maintenance_work_mem = '64MB'");

  await step(
    'tenants+users',
    `insert into tenants (id, name, email, plan, rpm_override, allowed_models, suspended, created_at, updated_at)
     select 'ten_' || i, 'Tenant ' || i, 'owner' || i || '@example.com', 'starter', null, null, 0,
            ${now - 400 * DAY_MS} + i * 1000, ${now - 400 * DAY_MS} + i * 1000
     from generate_series(0, ${S.tenants - 1}) i`,
    `insert into users (id, tenant_id, email, password_hash, created_at)
     select 'usr_' || i, 'ten_' || i, 'owner' || i || '@example.com', 'scrypt$x', ${now - 400 * DAY_MS}
     from generate_series(0, ${S.tenants - 1}) i`,
    `insert into memberships (tenant_id, user_id, role, created_at)
     select 'ten_' || i, 'usr_' || i, 'owner', ${now - 400 * DAY_MS}
     from generate_series(0, ${S.tenants - 1}) i`,
  );
  await step(
    'api_keys',
    `insert into api_keys (id, tenant_id, name, key_hash, prefix, last4, scopes, created_at, last_used_at, revoked_at)
     select 'key_' || i, 'ten_' || (i % ${S.tenants}), 'key ' || i, md5('key' || i) || md5('hash' || i),
            'sk-simo-', right(md5('key' || i), 4), '["inference"]', ${now - 300 * DAY_MS}, null,
            case when i % 20 = 0 then ${now - DAY_MS} end
     from generate_series(0, ${S.apiKeys - 1}) i`,
  );
  // Tenant ten_0 makes a tenth of all requests; the rest spread over the active tenants.
  await step(
    'usage_records',
    `insert into usage_records (request_id, tenant_id, key_id, model, provider, upstream_model, endpoint,
       prompt_tokens, completion_tokens, cost_micros, status, streamed, estimated, latency_ms, created_at)
     select 'req_' || i, 'ten_' || t, 'key_' || t,
            (array['qwen/qwen3-8b','gpt-4o-mini','llama-3.1-8b','text-embedding-3-small'])[1 + (t + (i % 5 = 0)::int) % 4],
            'sim', 'upstream-model', '/v1/chat/completions', 100 + i % 900, 50 + i % 400, 10 + i % 500,
            case when i % 50 = 0 then 502 else 200 end, i % 2, 0, 100 + i % 2000,
            ${now} - (${S.usageRecords}::bigint - i) * ${span} / ${S.usageRecords}
     from (select i, case when i % 10 = 0 then 0 else (i::bigint * 7919) % ${S.activeTenants} end as t
           from generate_series(1, ${S.usageRecords}) i) s`,
  );
  await step(
    'credit_ledger+balances',
    `insert into credit_ledger (tenant_id, kind, amount_micros, idempotency_key, request_id, actor, note, created_at)
     select 'ten_' || i, 'trial', 5000000, 'trial:ten_' || i, null, 'system', null, ${now - 400 * DAY_MS}
     from generate_series(0, ${S.tenants - 1}) i`,
    `insert into credit_ledger (tenant_id, kind, amount_micros, idempotency_key, request_id, actor, note, created_at)
     select tenant_id, 'usage', -cost_micros, 'usage:' || request_id, request_id, 'key:' || key_id, null, created_at
     from usage_records where id > ${S.usageRecords - S.ledgerUsageRows} order by id`,
    `insert into credit_balances (tenant_id, granted_micros, consumed_micros, thresholds_fired, updated_at)
     select tenant_id, sum(greatest(amount_micros, 0)), -sum(least(amount_micros, 0)), '[]', ${now}
     from credit_ledger group by tenant_id`,
  );
  // Roll-ups of the raw window, plus older history whose raw records retention already removed.
  // Months before the previous one are invoiced; the previous month (about to be closed) and this one are not.
  const invoicedBefore = Math.floor(previousPeriod(now).start / DAY_MS);
  const columns = `tenant_id, day, model, requests, prompt_tokens, completion_tokens, cost_micros,
    invoiced_requests, invoiced_prompt_tokens, invoiced_completion_tokens, invoiced_cost_micros`;
  const invoiced = (column: string) => `case when day < ${invoicedBefore} then ${column} else 0 end`;
  await step(
    'usage_daily',
    `insert into usage_daily (${columns})
     select *, ${invoiced('requests')}, ${invoiced('prompt_tokens')}, ${invoiced('completion_tokens')},
            ${invoiced('cost_micros')}
     from (select tenant_id, created_at / ${DAY_MS} as day, model, count(*) as requests,
                  sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens,
                  sum(cost_micros) as cost_micros
           from usage_records group by tenant_id, created_at / ${DAY_MS}, model) r`,
    `insert into usage_daily (${columns})
     select 'ten_' || t, ${Math.floor((now - span) / DAY_MS)} - d, 'qwen/qwen3-8b', 5, 2500, 1200, 900, 5, 2500, 1200, 900
     from generate_series(0, ${S.activeTenants - 1}) t, generate_series(1, ${S.olderRollupDays}) d`,
  );
  // A fifth of the audit log belongs to ten_0, with a mix of sign-ins, failures and key events.
  await step(
    'audit_log',
    `insert into audit_log (tenant_id, actor, action, target, ip, detail, created_at)
     select 'ten_' || t, 'user:usr_' || t,
            (array['auth.login','auth.login_failed','key.created','key.rotated','webhook.created'])[1 + i % 5],
            'owner' || (i % 37) || '@example.com', '10.0.' || (i % 250) || '.' || (i % 199), null,
            ${now} - (${S.auditRows}::bigint - i) * ${span} / ${S.auditRows}
     from (select i, case when i % 5 = 0 then 0 else i % ${S.tenants} end as t
           from generate_series(1, ${S.auditRows}) i) s`,
  );
  await step(
    'login_attempts',
    `insert into login_attempts (key_hash, attempts, updated_at)
     select md5('login' || i) || md5('attempt' || i), '[' || (${now} - i * 18) || ']', ${now} - i * 18
     from generate_series(1, ${S.loginAttempts}) i`,
  );
  // All but the last hundred events are fanned out already.
  await step(
    'outbox_events',
    `insert into outbox_events (id, tenant_id, type, payload, created_at, fanned_out_at)
     select 'evt_' || i, 'ten_' || (i % ${S.activeTenants}), 'usage.threshold_reached', '{}', c,
            case when i <= ${S.outboxEvents - 100} then c + 1000 end
     from (select i, ${now} - (${S.outboxEvents}::bigint - i) * ${span} / ${S.outboxEvents} as c
           from generate_series(1, ${S.outboxEvents}) i) s`,
  );
  await step(
    'webhooks',
    `insert into webhooks (id, tenant_id, url, description, events, secret_ciphertext, enabled, disabled_reason,
       disabled_at, consecutive_failures, failing_since, created_at, updated_at, deleted_at)
     select 'wh_' || i, 'ten_' || i, 'https://hooks.example.com/' || i, null, '["*"]', 'sealed', (i % 50 <> 1)::int,
            null, null, 0, null, ${now - 200 * DAY_MS}, ${now - 200 * DAY_MS}, null
     from generate_series(0, ${S.webhooks - 1}) i`,
  );
  // Mostly delivered; the newest 1% are pending (half due now, half backing off), a few failed.
  await step(
    'webhook_deliveries+attempts',
    `insert into webhook_deliveries (id, webhook_id, tenant_id, event_id, event_type, status, attempts,
       round_started_at, round_attempts, next_attempt_at, lease_until, locked_by, last_status_code, last_error,
       created_at, updated_at)
     select 'dlv_' || i, 'wh_' || w, 'ten_' || w, 'evt_' || i, 'usage.threshold_reached',
            case when i > ${S.deliveries * 0.99} then 'pending' when i % 97 = 0 then 'failed' else 'succeeded' end,
            1, c, 1, case when i > ${S.deliveries * 0.99} and i % 2 = 0 then ${now} + 60000 else c end,
            null, null, 200, null, c, c
     from (select i, case when i % 10 = 0 then 0 else i % ${S.webhooks} end as w,
                  ${now} - (${S.deliveries}::bigint - i) * ${span} / ${S.deliveries} as c
           from generate_series(1, ${S.deliveries}) i) s`,
    `insert into webhook_delivery_attempts (delivery_id, webhook_id, tenant_id, event_id, event_type, attempt,
       attempted_at, succeeded, status_code, latency_ms, error, response_excerpt, next_attempt_at, replica)
     select id, webhook_id, tenant_id, event_id, event_type, 1, created_at, (status = 'succeeded')::int, 200, 120,
            null, null, null, 'rep_fill'
     from webhook_deliveries where status <> 'pending' order by created_at`,
  );
  await step(
    'sessions',
    `insert into sessions (id_hash, user_id, tenant_id, created_at, last_seen_at, expires_at)
     select md5('session' || i) || md5('sid' || i), 'usr_' || i, 'ten_' || i, ${now - 3 * DAY_MS}, ${now - DAY_MS},
            ${now} + case when i % 50 = 0 then -${DAY_MS} else ${6 * DAY_MS} end
     from generate_series(0, ${S.sessions - 1}) i`,
  );
  // Autovacuum keeps the visibility map current in production; index-only scans rely on it.
  await step('analyze', 'vacuum analyze');
  return timings;
}
