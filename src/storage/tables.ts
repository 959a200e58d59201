import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Row types of every table. Times are Unix epoch milliseconds, money is integer micro-dollars (with, where
 * usage is summed, the pico-dollars below one in a `*_picos` column: see src/billing/money.ts),
 * booleans are 0/1 and lists are JSON text, so one code path works on SQLite and PostgreSQL.
 */
export interface TenantsTable {
  id: string;
  name: string;
  email: string;
  plan: string;
  rpm_override: number | null;
  /** JSON array of public model ids; null means the whole catalog. */
  allowed_models: string | null;
  suspended: number;
  created_at: number;
  updated_at: number;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  email: string;
  password_hash: string;
  created_at: number;
  /** When the person opened the verification link (or accepted an emailed invite); null until then. */
  email_verified_at: number | null;
}

/** A person's place in an organization (tenant): one row per member, with their role. */
export interface MembershipsTable {
  tenant_id: string;
  user_id: string;
  /** `owner` | `admin` | `developer` | `billing`. */
  role: string;
  created_at: number;
}

/** An invitation by email to join an organization; the link holds a token stored only as its hash. */
export interface InvitesTable {
  id: string;
  tenant_id: string;
  email: string;
  role: string;
  token_hash: string;
  /** Actor who invited: `user:<id>`, `key:<id>`, `operator`, `cli`. */
  invited_by: string;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  accepted_by: string | null;
  revoked_at: number | null;
}

/** One-time emailed links: `verify` (email address) or `reset` (password). Single use, expiring. */
export interface EmailTokensTable {
  token_hash: string;
  user_id: string;
  purpose: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Spend of a key with a spend limit in one budget period (UTC day or month starting at `period_start`). */
export interface KeySpendTable {
  key_id: string;
  period_start: number;
  tenant_id: string;
  /** Each request's cost rounded up to a micro-dollar: a budget is never overrun by rounding. */
  spent_micros: number;
  updated_at: number;
}

/** Mails kept for the operator when no SMTP server is configured. */
export interface MailOutboxTable {
  id: string;
  recipient: string;
  subject: string;
  body: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  /** SHA-256 of the full key, hex. The key itself is never stored. */
  key_hash: string;
  /** First characters of the key, shown in listings (`sk-simo-AbCd`). */
  prefix: string;
  last4: string;
  /** JSON array of scopes, e.g. ["inference","admin"]. */
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** The member who created the key; null for keys of the sign-up, the operator or the CLI. */
  created_by: string | null;
  /** The role the key acts with on `/admin/*`: its creator's role (kept in step when that role changes). */
  role: Generated<string>;
  /** Spend limit of the key in micro-dollars per `spend_period` (`day` | `month`, UTC); null: none. */
  spend_limit_micros: number | null;
  spend_period: string | null;
  /** Requests and tokens per minute for this key, below the plan's; null: the plan's only. */
  rpm_limit: number | null;
  tpm_limit: number | null;
  /** The key that replaced this one when it was rotated; null otherwise. */
  replaced_by?: string | null;
}

export interface UsageRecordsTable {
  id: Generated<number>;
  request_id: string;
  tenant_id: string;
  key_id: string | null;
  model: string;
  provider: string | null;
  upstream_model: string | null;
  endpoint: string;
  prompt_tokens: number;
  completion_tokens: number;
  /** Of the prompt tokens: read from the upstream's prompt cache, and written to it. */
  cached_tokens: Generated<number>;
  cache_write_tokens: Generated<number>;
  /** The exact cost is cost_micros + cost_picos / 10^6 micro-dollars (0 ≤ cost_picos < 10^6). */
  cost_micros: number;
  cost_picos: number;
  status: number;
  streamed: number;
  /** 1 when tokens were counted by us because the upstream did not report usage. */
  estimated: number;
  latency_ms: number;
  /** `hit` or `miss` when the model's response cache was consulted, else null. */
  cache?: 'hit' | 'miss' | null;
  /** Routes tried, the answering one included; 0 when the response cache answered; null on older records. */
  attempts?: number | null;
  created_at: number;
}

export interface OutboxEventsTable {
  id: string;
  tenant_id: string;
  type: string;
  /** The full event body as delivered: JSON text. */
  payload: string;
  created_at: number;
  /** When the webhook dispatcher turned the event into deliveries; null until then. */
  fanned_out_at: number | null;
}

/** A tenant's webhook endpoint. The signing secret is stored encrypted (AES-256-GCM), never in clear. */
export interface WebhooksTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  /** JSON array of subscribed event types; `["*"]` means all. */
  events: string;
  secret_ciphertext: string;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  consecutive_failures: number;
  failing_since: number | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** One event to one endpoint; retried until it succeeds or is given up. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  /** pending | succeeded | failed | cancelled */
  status: string;
  /** Attempts ever started, including those of manual redeliveries. */
  attempts: number;
  /** Start of the current retry round (creation or the last manual redelivery). */
  round_started_at: number;
  round_attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  locked_by: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** The log of every delivery attempt. */
export interface WebhookDeliveryAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  attempted_at: number;
  succeeded: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** At most 1 KB of the receiver's response body. */
  response_excerpt: string | null;
  /** When the next retry is due after this attempt; null when none follows. */
  next_attempt_at: number | null;
  replica: string;
}

/** A raised audit flag (also written to the audit log as `audit.flagged`). */
export interface AuditFlagsTable {
  id: string;
  tenant_id: string;
  rule: string;
  subject: string;
  /** JSON object describing what tripped the rule. */
  detail: string;
  event_id: string;
  created_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  /** JSON object with action-specific details; never a secret. */
  detail: string | null;
  created_at: number;
}

/** Dashboard sessions: the cookie holds the id, the table only its SHA-256. */
export interface SessionsTable {
  id_hash: string;
  user_id: string;
  tenant_id: string;
  created_at: number;
  last_seen_at: number;
  /** Sliding: pushed forward while the session is used, never past the absolute lifetime. */
  expires_at: number;
}

/** Append-only money movements. Positive amounts add credit, usage debits are negative. */
export interface CreditLedgerTable {
  id: Generated<number>;
  tenant_id: string;
  /** `trial` | `grant` | `adjustment` | `payment` | `refund` | `dispute` | `usage`. */
  kind: string;
  /** amount_micros + amount_picos / 10^6 micro-dollars; usage debits are negative in both parts. */
  amount_micros: number;
  amount_picos: number;
  /** Makes every movement safe to retry: `usage:<request id>`, `trial:<tenant id>`, a caller's key. */
  idempotency_key: string;
  request_id: string | null;
  actor: string | null;
  note: string | null;
  created_at: number;
}

/** Running totals of the ledger per tenant, updated in the same transaction as each ledger row. */
export interface CreditBalancesTable {
  tenant_id: string;
  granted_micros: number;
  /** consumed_micros + consumed_picos / 10^6 micro-dollars, kept normalised (0 ≤ consumed_picos < 10^6). */
  consumed_micros: number;
  consumed_picos: number;
  /** JSON array of the usage thresholds already announced in the current grant period. */
  thresholds_fired: string;
  updated_at: number;
}

/** A closed month of one tenant's usage. */
export interface InvoicesTable {
  id: string;
  tenant_id: string;
  /** `YYYY-MM` (UTC). */
  period: string;
  status: string;
  currency: string;
  total_micros: number;
  /** JSON array of per-model lines. */
  lines: string;
  period_start: number;
  period_end: number;
  created_at: number;
}

/** Usage rolled up per tenant, UTC day (days since the epoch) and public model. */
export interface UsageDailyTable {
  tenant_id: string;
  day: number;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** cost_micros + cost_picos / 10^6 micro-dollars, kept normalised. */
  cost_micros: number;
  cost_picos: number;
  /** How much of the row invoices already cover; the rest goes onto the next invoice. */
  invoiced_requests: Generated<number>;
  invoiced_prompt_tokens: Generated<number>;
  invoiced_completion_tokens: Generated<number>;
  invoiced_cost_micros: Generated<number>;
  invoiced_cost_picos: Generated<number>;
}

/** A month that has been closed: it never gets another invoice; late usage goes onto the next one. */
export interface BillingPeriodsTable {
  /** `YYYY-MM` (UTC). */
  period: string;
  closed_at: number;
}

/** Recent sign-in attempts of one email from one client address (see `LoginThrottle`). */
export interface LoginAttemptsTable {
  /** SHA-256 (hex) of the normalised email and the client's address key. */
  key_hash: string;
  /** JSON array of the attempt times still inside the throttle window, oldest first. */
  attempts: string;
  updated_at: number;
}

/** A response kept for the Responses API (`store`); JSON text columns, one tenant's only. */
/** One cached answer; `key` is a SHA-256 of tenant, model and the normalised request. */
export interface ResponseCacheTable {
  key: string;
  tenant_id: string;
  /** The cached answer as JSON (`CachedAnswer`). */
  entry: string;
  size_bytes: number;
  created_at: number;
  expires_at: number;
}

export interface StoredResponsesTable {
  id: string;
  tenant_id: string;
  previous_response_id: string | null;
  /** The `response` object as the API answered it. */
  response: string;
  /** The input items of this response's own request, each with its id. */
  input_items: string;
  created_at: number;
  expires_at: number;
}

/** One top-up: paid through Stripe Checkout (`checkout`) or charged off-session (`auto`). */
export interface PaymentsTable {
  id: string;
  tenant_id: string;
  kind: string;
  /** `pending` | `paid` | `failed` | `expired`. */
  status: string;
  /** USD of credit bought, micro-dollars. */
  credits_micros: number;
  /** What was asked for, before taxes, in the smallest unit of `currency`. */
  amount_minor: number;
  /** What the customer paid, taxes included; null until paid. */
  amount_total_minor: number | null;
  currency: string;
  /** Stripe ids: the Checkout Session and the PaymentIntent. */
  session_id: string | null;
  payment_intent_id: string | null;
  /** Credit taken back for refunds and for disputes, micro-dollars. */
  refunded_micros: Generated<number>;
  disputed_micros: Generated<number>;
  failure: string | null;
  /** Actor who started it: `user:<id>`, `key:<id>`, `system` (auto top-up). */
  created_by: string;
  created_at: number;
  paid_at: number | null;
}

/** Stripe events already applied, by Stripe's event id. */
export interface StripeEventsTable {
  id: string;
  type: string;
  received_at: number;
}

export interface StripeCustomersTable {
  tenant_id: string;
  customer_id: string;
  created_at: number;
}

/** "When available credit falls below the threshold, add the amount", with the charge's claim. */
export interface AutoTopupsTable {
  tenant_id: string;
  enabled: number;
  threshold_micros: number;
  amount_micros: number;
  /** The saved card (Stripe PaymentMethod id); null until one is saved. */
  payment_method_id: string | null;
  /** `armed` (fires on the next crossing) | `charging` (claimed by a replica) | `waiting` (re-armed above the threshold). */
  state: string;
  /** The payment being charged while `charging`, also the charge's idempotency key at Stripe. */
  attempt_id: string | null;
  claimed_at: number | null;
  /** After a failure, no charge before this time. */
  next_attempt_at: Generated<number>;
  /** Failed charges in a row. */
  failures: Generated<number>;
  last_error: string | null;
  updated_at: number;
  /** Counts the row's changes: a charge is claimed only on the version its balance check read. */
  version: Generated<number>;
}

/** What oidc-provider stores, by model and the SHA-256 of the id (an opaque token's id is the token). */
export interface OAuthRecordsTable {
  model: string;
  id_hash: string;
  /** The model's JSON payload; a client's secret in it is sealed with the server secret. */
  payload: string;
  grant_hash: string | null;
  uid_hash: string | null;
  user_code_hash: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

/** An app a member authorized for their organization (a connected app), with the scopes approved. */
export interface OAuthGrantsTable {
  id: string;
  /** SHA-256 of the authorization server's grant id. */
  grant_hash: string;
  tenant_id: string;
  user_id: string;
  client_id: string;
  client_name: string | null;
  redirect_uri: string | null;
  /** JSON array of OAuth scopes. */
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface Database {
  payments: PaymentsTable;
  stripe_events: StripeEventsTable;
  stripe_customers: StripeCustomersTable;
  auto_topups: AutoTopupsTable;
  tenants: TenantsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  invites: InvitesTable;
  email_tokens: EmailTokensTable;
  mail_outbox: MailOutboxTable;
  key_spend: KeySpendTable;
  api_keys: ApiKeysTable;
  usage_records: UsageRecordsTable;
  usage_daily: UsageDailyTable;
  outbox_events: OutboxEventsTable;
  audit_log: AuditLogTable;
  credit_ledger: CreditLedgerTable;
  credit_balances: CreditBalancesTable;
  invoices: InvoicesTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  audit_flags: AuditFlagsTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  billing_periods: BillingPeriodsTable;
  stored_responses: StoredResponsesTable;
  response_cache: ResponseCacheTable;
  oauth_records: OAuthRecordsTable;
  oauth_grants: OAuthGrantsTable;
}

export type TenantRow = Selectable<TenantsTable>;
export type NewTenantRow = Insertable<TenantsTable>;
export type TenantUpdate = Updateable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type UsageRecordRow = Selectable<UsageRecordsTable>;
export type NewUsageRecordRow = Insertable<UsageRecordsTable>;
export type CreditBalanceRow = Selectable<CreditBalancesTable>;
export type InvoiceRow = Selectable<InvoicesTable>;
