import type { Logger } from 'pino';
import { AccountService } from './accounts/account-service.js';
import { ApiKeyAuthenticator } from './accounts/authenticator.js';
import { EmailFlows } from './accounts/email-flows.js';
import { FlashStore } from './accounts/flash-store.js';
import { InvitationService } from './accounts/invitations.js';
import { KeyService } from './accounts/key-service.js';
import { LoginThrottle } from './accounts/login-throttle.js';
import { MemberService } from './accounts/members.js';
import type { RevocationBus } from './accounts/revocation-bus.js';
import { SessionService } from './accounts/sessions.js';
import { SsoService } from './accounts/sso.js';
import { AuditSignals } from './audit-flags/audit-signals.js';
import { BillingService } from './billing/billing-service.js';
import { CreditMeter } from './billing/credit-meter.js';
import { InvoiceService } from './billing/invoices.js';
import { KeyBudgets, withKeyBudgets } from './billing/key-budgets.js';
import type { UsageMeter } from './billing/meter.js';
import { RedisUsageJournal } from './billing/redis-usage-journal.js';
import { TokenCounter } from './billing/token-counter.js';
import { DAY_MS } from './billing/usage-daily.js';
import type { UsageJournalState } from './billing/usage-journal.js';
import { ThreadUsageStore } from './billing/usage-store.js';
import type { WorkerLink } from './cluster/worker-link.js';
import type { ResolvedConfig } from './config/load.js';
import { ModelCatalog } from './gateway/catalog.js';
import { InferencePipeline } from './gateway/inference-pipeline.js';
import { ModelRouter } from './gateway/model-router.js';
import { RedisCacheStore } from './gateway/response-cache/redis-cache-store.js';
import { ResponseCache } from './gateway/response-cache/response-cache.js';
import { SqlCacheStore } from './gateway/response-cache/sql-cache-store.js';
import { ResponseStore } from './gateway/responses/response-store.js';
import type { Mailer } from './mail/mailer.js';
import { createOutboxMailer } from './mail/outbox-mailer.js';
import { createSmtpMailer } from './mail/smtp-mailer.js';
import { createOAuthServer, type OAuthServer } from './oauth/index.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { traceAdapters } from './observability/traced-adapter.js';
import { createTracer, type Tracer } from './observability/tracing.js';
import { OperatorTenants } from './operator/operator-tenants.js';
import { createPayments, type Payments } from './payments/index.js';
import { createProviders, type ProviderEntry } from './providers/registry.js';
import { createLimiter } from './ratelimit/create-limiter.js';
import type { RequestLimiter } from './ratelimit/types.js';
import { closeRedis, connectRedis, createRedisClient, waitForRedis } from './redis/client.js';
import { RedisBreakerSync } from './redis/redis-breaker-sync.js';
import { createRevocationBus } from './redis/redis-revocation-bus.js';
import { randomBase62 } from './shared/ids.js';
import { PICOS_PER_MICRO, usdToMicros } from './shared/money.js';
import { type DatabaseHandle, openDatabase } from './storage/database.js';
import { createWebhooks, type Webhooks } from './webhooks/index.js';
import { resolveServerSecret } from './webhooks/server-secret.js';

/** Every long-lived service, built once at boot. The only place that wires implementations together. */
export interface Container {
  config: ResolvedConfig;
  logger: Logger;
  metrics: Metrics;
  database: DatabaseHandle;
  catalog: ModelCatalog;
  providers: Map<string, ProviderEntry>;
  router: ModelRouter;
  /** OpenTelemetry request spans; absent unless an OTLP endpoint is configured. */
  tracer: Tracer | undefined;
  /** Exact-match answers of models with `cache`; absent when no model caches. */
  responseCache: ResponseCache | undefined;
  /** Responses kept for the Responses API (`store`, `previous_response_id`). */
  responses: ResponseStore;
  authenticator: ApiKeyAuthenticator;
  accounts: AccountService;
  limiter: RequestLimiter;
  meter: UsageMeter;
  /** Counts tokens with the model's tokenizer, off the event loop (usage estimates, `count_tokens`). */
  tokens: TokenCounter;
  /** Every model call of every surface: limit, admit, route, relay, settle. */
  pipeline: InferencePipeline;
  /** Where settled usage waits for the database besides the local log: `redis`, `degraded` or `local`. */
  usageJournal(): UsageJournalState;
  /** Credits, balances, usage reports and invoices. */
  billing: BillingService;
  /** Tells every replica about rotated/revoked keys and changed tenants. */
  revocations: RevocationBus;
  /** Dashboard sessions (cookie `simo_session`). */
  sessions: SessionService;
  /** One-time values for the next page view of a session (e.g. a new key shown once). */
  flash: FlashStore;
  /** Sign-in attempts per email and client address, counted before the password is checked. */
  loginThrottle: LoginThrottle;
  /** Tenant self-service API keys: list, create, rotate, revoke. */
  keys: KeyService;
  /** Spend budgets of single keys (per UTC day or month). */
  keyBudgets: KeyBudgets;
  /** Outgoing mail: SMTP, or the log and the operator outbox. */
  mailer: Mailer;
  /** Members of organizations and their roles. */
  members: MemberService;
  /** Invitations to organizations: send, accept, withdraw. */
  invitations: InvitationService;
  /** Email verification, password reset and change. */
  emailFlows: EmailFlows;
  /** Dashboard sign-in with OpenID Connect, when `sso` is configured. */
  sso: SsoService | undefined;
  /** Operator tenant management (HTTP API and CLI). */
  operatorTenants: OperatorTenants;
  /** Webhook endpoints and this replica's delivery dispatcher. */
  webhooks: Webhooks;
  /** In-memory audit rules fed by the request path; raise `audit.flagged`. */
  auditSignals: AuditSignals;
  /** Card payments through Stripe (top-ups, auto top-up, Stripe's webhook), when configured. */
  payments: Payments;
  /** The OAuth authorization server (agent sign-up) and the apps it connected. */
  oauth: OAuthServer;
  /** Releases connections and writes what is buffered; idempotent. Background jobs are stopped first. */
  close(): Promise<void>;
}

export interface ContainerOptions {
  /** SQLite file name (tests use `:memory:` or their own file). */
  sqliteFile?: string;
  /** Wall clock in epoch ms that decides when a billing period or a key's budget period is over (tests move it forward). */
  clock?: () => number;
  /**
   * This process is one of several serving workers (`simosphere start --workers N`): rate-limit logs
   * (without Redis), credit admission, revocations (without Redis) and `/metrics` are shared through
   * the primary.
   */
  cluster?: WorkerLink;
}

export async function createContainer(
  config: ResolvedConfig,
  logger: Logger,
  opts: ContainerOptions = {},
): Promise<Container> {
  const database = openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    ...(opts.sqliteFile ? { sqliteFile: opts.sqliteFile } : {}),
  });
  await database.migrate();
  const { db } = database;
  const metrics = createMetrics();

  const providers = createProviders(config.providers);
  const tracer = await createTracer(config, logger);
  if (tracer) traceAdapters(providers, tracer);
  const authenticator = new ApiKeyAuthenticator(db, config.limits.keyCacheTtlMs, (err) =>
    logger.warn({ err }, 'background key update failed'),
  );
  // One shared Redis command client (rate limits, revocation broadcast) when SIMO_REDIS_URL is set.
  const redis = config.redisUrl
    ? await connectRedis(config.redisUrl, 'simosphere', config.redis.commandTimeoutMs)
    : undefined;
  const link = opts.cluster;
  if (link) {
    link.serveMetrics(metrics.registry, () => {
      const pool = database.poolStats?.();
      if (!pool) return;
      metrics.dbPoolConnections.set({ state: 'total' }, pool.total);
      metrics.dbPoolConnections.set({ state: 'idle' }, pool.idle);
      metrics.dbPoolConnections.set({ state: 'waiting' }, pool.waiting);
    });
    metrics.text = () => link.clusterMetrics();
  }
  // Serving workers of one machine without Redis hear each other's revocations through their primary.
  const revocations =
    link && !config.redisUrl
      ? link.revocations()
      : await createRevocationBus({
          redisUrl: config.redisUrl,
          redis,
          keyPrefix: config.redis.keyPrefix,
          logger,
          onResync: () => authenticator.clear(),
        });
  revocations.subscribe((event) =>
    event.kind === 'key'
      ? authenticator.invalidateKey(event.keyId)
      : authenticator.invalidateTenant(event.tenantId),
  );
  // With Redis, settled usage is also journaled there until committed, so the other replicas can bill
  // what a replica that died for good (data dir and all) had answered but not committed.
  // Its own connection: a record is durable only once Redis has it, so a slow Redis gets a second to
  // answer instead of the rate limiter's fail-fast 250 ms.
  const journalRedis = config.redisUrl
    ? createRedisClient(config.redisUrl, { name: 'simosphere:usage-journal', commandTimeoutMs: 1_000 })
    : undefined;
  if (journalRedis && redis?.status === 'ready') await waitForRedis(journalRedis);
  const journal = journalRedis
    ? new RedisUsageJournal({
        client: journalRedis,
        keyPrefix: config.redis.keyPrefix,
        owner: randomBase62(12),
        onHealthChange: (degraded, err) => {
          metrics.usageJournalDegraded.set(degraded ? 1 : 0);
          if (degraded)
            logger.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'usage journal degraded: Redis unreachable, settled usage is kept in the local write-ahead log only until it answers again',
            );
          else logger.warn('usage journal recovered: settled usage is journaled in Redis again');
        },
      })
    : undefined;
  // On a SQLite file, usage batches are committed by a thread of their own, off the event loop.
  const usageStore = database.sqlitePath
    ? new ThreadUsageStore({ path: database.sqlitePath, thresholds: config.usageThresholds }, logger)
    : undefined;
  const tokens = new TokenCounter();
  const keyBudgets = new KeyBudgets(db, logger, database.dialect, opts.clock);
  // Built after the meter, whose settled usage it watches for auto top-up.
  let payments: Payments | undefined;
  const meter = new CreditMeter(db, tokens, logger, {
    thresholds: config.usageThresholds,
    walDir: config.dataDir,
    ...(usageStore ? { store: usageStore } : {}),
    // Serving workers admit against one book kept by their primary, so together they cannot overspend.
    ...(link ? { book: link.creditBook() } : {}),
    ...(journal ? { journal } : {}),
    onRecovered: (source, records) => metrics.usageRecordsRecovered.inc({ source }, records),
    onSettled: (row) => {
      metrics.gatewayRequests.inc({
        model: row.model,
        status: String(row.status),
        streamed: row.streamed ? 'true' : 'false',
      });
      // A fraction of a micro-dollar counts too: the counter sums exactly what the ledger debits.
      const micros = row.cost_micros + row.cost_picos / PICOS_PER_MICRO;
      if (micros > 0) metrics.creditsDebitedMicros.inc({ model: row.model }, micros);
      keyBudgets.onSettled(row);
      if (row.cost_micros > 0 || row.cost_picos > 0) payments?.spent(row.tenant_id);
    },
  });
  link?.hello(meter.walOwner);
  // Usage written ahead by a process that crashed is billed before this one serves anything, and
  // what dies later (here or on another replica) is found by the sweep, without waiting for a restart.
  await meter.recover();
  const invoices = new InvoiceService(db, meter, logger, {
    dialect: database.dialect,
    ...(opts.clock ? { now: opts.clock } : {}),
  });
  const billing = new BillingService(db, meter, invoices, usdToMicros(config.signup.trialCredits));
  const responses = new ResponseStore(db, config.responseRetentionDays * DAY_MS);
  const limiter = createLimiter({
    config,
    logger,
    metrics,
    ...(redis ? { redis } : {}),
    // Without Redis, serving workers count in one set of logs kept by their primary: limits stay exact.
    ...(link && !redis ? { sharedStore: link.windowStore() } : {}),
  });
  const mailer = config.smtp.url
    ? await createSmtpMailer(
        config.smtp.url,
        config.smtp.from ?? `${config.brand.name} <${config.brand.supportEmail}>`,
      )
    : createOutboxMailer(db, logger);
  payments = await createPayments({
    db,
    dialect: database.dialect,
    config,
    mailer,
    logger,
    invalidate: (tenantId) => meter.invalidate(tenantId),
    pendingFor: (tenantId) => meter.pendingFor(tenantId),
    ...(opts.clock ? { now: opts.clock } : {}),
  });
  const mailLinks = { publicUrl: config.publicUrl, brandName: config.brand.name };
  const invitations = new InvitationService(db, mailer, mailLinks);
  const members = new MemberService(db, invitations, revocations, { dialect: database.dialect });
  const accounts = new AccountService(db, {
    signupPlan: config.signup.plan,
    plans: Object.keys(config.plans),
    onTenantCreated: [],
    grantTrial: billing.grantTrial,
    requireVerifiedEmail: requireVerifiedEmail(config),
    // Operator- and CLI-created tenants get their owner by an emailed invite.
    onOwnerlessTenant: async (tenant, by) => {
      await invitations.invite(
        tenant.id,
        { email: tenant.email, role: 'owner' },
        { ...by, role: 'owner', userId: null },
      );
    },
  });

  const responseCache = ResponseCache.wanted(config.models)
    ? new ResponseCache(
        (config.responseCache.store ?? (redis ? 'redis' : 'database')) === 'redis' && redis
          ? new RedisCacheStore(redis, config.redis.keyPrefix)
          : new SqlCacheStore(db, config.responseCache.maxBytes),
        { maxEntryBytes: config.responseCache.maxEntryBytes },
        {
          lookup: (model, outcome) => metrics.responseCacheLookups.inc({ model, outcome }),
          stored: (outcome) => metrics.responseCacheStores.inc({ outcome }),
        },
        logger,
      )
    : undefined;
  // With Redis, a circuit opened (or closed) on one replica is opened (or closed) on all.
  let breakerSync: RedisBreakerSync | undefined;
  const router = new ModelRouter(providers, metrics, (health, state, openUntil) =>
    breakerSync?.publish(health, state, openUntil),
  );
  router.register(config.models);
  if (redis && config.redisUrl && router.table.all().some((h) => h.breaker)) {
    breakerSync = new RedisBreakerSync(
      config.redisUrl,
      redis,
      config.redis.keyPrefix,
      {
        routes: () => router.table.all(),
        adoptRemote: (key, state, openUntil) => router.adoptRemote(key, state, openUntil),
      },
      logger,
    );
    if (!(await breakerSync.start()))
      logger.warn('circuit breaker sharing not subscribed yet: Redis unreachable, will retry');
  }

  const webhooks = createWebhooks(database, config, logger, metrics);
  const oauth = await createOAuthServer({
    publicUrl: config.publicUrl,
    db,
    serverSecret: resolveServerSecret(config.secrets.encryptionKey, config.dataDir, logger),
    logger,
    revocations,
    authenticator,
  });
  const auditSignals = new AuditSignals(db, config.auditRules, logger);

  let closed: Promise<void> | undefined;
  const services: Omit<Container, 'pipeline'> = {
    config,
    logger,
    metrics,
    database,
    catalog: new ModelCatalog(config.models),
    providers,
    router,
    tracer,
    responseCache,
    responses,
    authenticator,
    accounts,
    limiter,
    // Keys with a spend budget are refused before the credit check once they spent it.
    meter: withKeyBudgets(meter, keyBudgets),
    keyBudgets,
    tokens,
    usageJournal: () => journal?.state() ?? 'local',
    billing,
    revocations,
    sessions: new SessionService(db),
    flash: new FlashStore(),
    loginThrottle: new LoginThrottle(db),
    keys: new KeyService(db, revocations),
    mailer,
    members,
    invitations,
    emailFlows: new EmailFlows(db, mailer, { ...mailLinks, grantTrial: billing.grantTrial }),
    sso: config.sso ? new SsoService(db, config.sso, `${config.publicUrl}/login/sso/callback`) : undefined,
    operatorTenants: new OperatorTenants(db, revocations, {
      plans: Object.keys(config.plans),
      models: config.models.map((m) => m.id),
    }),
    webhooks,
    auditSignals,
    payments,
    oauth,
    close() {
      closed ??= (async () => {
        await auditSignals.drain();
        await responseCache?.drain();
        await payments?.drain();
        await webhooks.close();
        await meter.close();
        await keyBudgets.drain();
        if (journalRedis) await closeRedis(journalRedis);
        await limiter.close();
        await revocations.close();
        await breakerSync?.close();
        if (redis) await closeRedis(redis);
        await Promise.all([...providers.values()].map((p) => p.adapter.close()));
        await mailer.close();
        await tracer?.shutdown();
        await database.close();
      })();
      return closed;
    },
  };
  // The pipeline reads the services themselves, the meter at each call (a benchmark may swap it).
  return Object.assign(services, { pipeline: new InferencePipeline(services) });
}

/** Whether sign-ups wait for a verified email before their trial credits: by default, when mail really goes out. */
export const requireVerifiedEmail = (config: ResolvedConfig): boolean =>
  config.signup.requireVerifiedEmail ?? config.smtp.url !== undefined;
