import { z } from 'zod';

/** A USD amount given in config, e.g. `0.05` or `"5.00"`. */
const usd = z.coerce.number().nonnegative();

const providerBase = {
  id: z.string().min(1),
  /** Whole-request timeout. */
  timeoutMs: z.number().int().positive().default(60_000),
  /** Time allowed until the upstream sends response headers; a route that misses it falls through. */
  firstByteTimeoutMs: z.number().int().positive().optional(),
  /**
   * Circuit breaker of each route on this provider: after `failures` failures in a row (connect errors,
   * 5xx, 429, timeouts) the route is skipped for `cooldownMs`, then one request probes it. Unset: no breaker.
   */
  breaker: z
    .object({
      failures: z.number().int().positive().default(5),
      cooldownMs: z.number().int().positive().default(10_000),
    })
    .optional(),
  /**
   * Active health check: every `intervalMs` a GET on `path` (relative to the base URL). A failure counts
   * like a failed request; a success closes an open breaker at once. Needs `breaker`.
   */
  healthCheck: z
    .object({
      path: z.string().min(1).default('/models'),
      intervalMs: z.number().int().positive().default(5_000),
      timeoutMs: z.number().int().positive().default(2_000),
    })
    .optional(),
};

export const providerSchema = z.discriminatedUnion('type', [
  z.object({
    ...providerBase,
    type: z.literal('openai-compatible'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    apiKey: z.string().optional(),
    /** Extra headers sent upstream (e.g. an organisation id). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Keep-alive connections per upstream origin. */
    connections: z.number().int().positive().default(128),
    /**
     * Where the gateway puts the completion cap it sets (when the balance affords less than the context
     * window): `max_tokens`, which every OpenAI-compatible server reads, or `max_completion_tokens` for
     * servers that refuse `max_tokens` (OpenAI's reasoning models).
     */
    maxTokensParam: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
    /**
     * Surfaces this server speaks itself besides Chat Completions (OpenAI and vLLM: `responses`;
     * Anthropic and newer vLLM: `messages`). A model whose every route speaks a surface gets its
     * requests relayed as they are (model renamed, usage read from the answer) instead of translated.
     */
    surfaces: z.array(z.enum(['responses', 'messages'])).default([]),
    /** How the API key is sent: `authorization` (Bearer) or `x-api-key` (Anthropic). */
    apiKeyHeader: z.enum(['authorization', 'x-api-key']).default('authorization'),
  }),
  z.object({
    ...providerBase,
    type: z.literal('simulator'),
    /** Delay between streamed tokens, to imitate a real model in demos. */
    tokenDelayMs: z.number().int().nonnegative().default(0),
  }),
]);

export const routeSchema = z.object({
  provider: z.string().min(1),
  /** The upstream's own model name; defaults to the public id. */
  model: z.string().min(1).optional(),
  /** Share of the traffic under the `weighted` strategy, relative to the model's other routes. */
  weight: z.number().int().min(0).max(1_000_000).default(1),
});

/** Which upstream failures fall through to the next route, how many routes are tried, and for how long. */
export const retryPolicySchema = z.object({
  /**
   * Upstream HTTP statuses that fall through; connect errors and timeouts always do. Unset: 408, 429
   * and every 5xx.
   */
  statuses: z.array(z.number().int().min(400).max(599)).optional(),
  /** Routes tried at most per request (the first included); unset: every route. */
  attempts: z.number().int().positive().optional(),
  /** No further route is tried once this much time has passed since the first attempt. */
  deadlineMs: z.number().int().positive().optional(),
});

/**
 * Exact-match response cache of one model. Used for deterministic requests (temperature 0 or a seed),
 * for every request with `when: always`, and for any request sent with `x-simo-cache: force`.
 */
export const modelCacheSchema = z.object({
  ttlSeconds: z.number().int().positive(),
  /** What a hit costs: nothing (`free`), the normal price (`full`), or this fraction of it (0–1). */
  billing: z.union([z.enum(['free', 'full']), z.number().min(0).max(1)]).default('free'),
  /** `deterministic`: only requests with temperature 0 or a seed; `always`: every request. */
  when: z.enum(['deterministic', 'always']).default('deterministic'),
});

export const modelSchema = z.object({
  id: z.string().min(1),
  ownedBy: z.string().default('simosphere'),
  /** `chat` models serve /v1/chat/completions, `embedding` models /v1/embeddings. */
  kind: z.enum(['chat', 'embedding']).default('chat'),
  contextWindow: z.number().int().positive().default(32_768),
  pricing: z
    .object({
      inputPerMTok: usd,
      outputPerMTok: usd.default(0),
      /** Input tokens read from the upstream's prompt cache; the input price when unset. */
      cachedInputPerMTok: usd.optional(),
      /** Input tokens written to the prompt cache (Anthropic's cache writes); the input price when unset. */
      cacheWritePerMTok: usd.optional(),
    })
    .default({ inputPerMTok: 0, outputPerMTok: 0 }),
  routes: z.array(routeSchema).min(1),
  cache: modelCacheSchema.optional(),
  /**
   * How the first route is chosen: `ordered` (the list order, the others as fallback), `weighted` (by
   * `weight`), `least-outstanding` (fewest requests in flight) or `least-latency` (lowest moving average
   * of the time to first byte). The rest remain fallbacks either way.
   */
  strategy: z.enum(['ordered', 'weighted', 'least-outstanding', 'least-latency']).default('ordered'),
  /**
   * Keep one conversation (same tenant and the same `prompt_cache_key`, `user`, `x-session-id` header or
   * leading messages) on one route while it is healthy, so the upstream's prompt cache stays warm.
   */
  affinity: z.boolean().default(true),
  retry: retryPolicySchema.optional(),
});

export const planSchema = z.object({
  rpm: z.number().int().positive(),
  tpm: z.number().int().positive().optional(),
});

/** Webhook delivery tuning; the defaults suit production, tests shrink the intervals. */
export const webhooksSchema = z
  .object({
    /** Allow targets on loopback/private addresses (tests, on-prem). */
    allowPrivate: z.boolean().default(false),
    /** Per-attempt timeout. */
    timeoutMs: z.number().int().positive().default(10_000),
    /** First retry delay; later ones grow by `retryFactor`, with jitter. */
    retryBaseMs: z.number().int().positive().default(5_000),
    retryFactor: z.number().min(1).default(3),
    retryMaxDelayMs: z
      .number()
      .int()
      .positive()
      .default(2 * 3_600_000),
    /** A delivery still failing this long after its event is given up. */
    giveUpAfterMs: z
      .number()
      .int()
      .positive()
      .default(24 * 3_600_000),
    /** An endpoint failing every attempt for this long and this many attempts is disabled. */
    disableAfterMs: z
      .number()
      .int()
      .nonnegative()
      .default(24 * 3_600_000),
    disableAfterFailures: z.number().int().positive().default(10),
    /** How often the dispatcher looks for new events and due deliveries. */
    pollIntervalMs: z.number().int().positive().default(250),
    /** How long a replica owns a leased delivery; must exceed `timeoutMs`. */
    leaseMs: z.number().int().positive().default(30_000),
    /** Deliveries sent concurrently per replica. */
    concurrency: z.number().int().positive().default(8),
  })
  // A lease that ran out mid-attempt would let another replica repeat the attempt.
  .refine((w) => w.leaseMs > w.timeoutMs, { path: ['leaseMs'], message: 'must be longer than timeoutMs' });

/** Thresholds of the rules that raise `audit.flagged`. */
export const auditRulesSchema = z.object({
  enabled: z.boolean().default(true),
  /** Failed authentications with one tenant's key prefix within the window. */
  failedAuthThreshold: z.number().int().positive().default(20),
  failedAuthWindowMs: z.number().int().positive().default(60_000),
  /** Distinct client IPs using one key within the window. */
  distinctIpThreshold: z.number().int().positive().default(10),
  distinctIpWindowMs: z.number().int().positive().default(300_000),
  /**
   * A window (`spikeWindowMs`) with more than `spikeFactor` × the tenant's usual rate per window and at
   * least `spikeMinRequests`. The usual rate is the mean of up to `spikeBaselineWindows` earlier windows,
   * judged only once `spikeMinHistoryWindows` of history have been seen by this replica.
   */
  spikeFactor: z.number().positive().default(10),
  spikeMinRequests: z.number().int().positive().default(100),
  spikeWindowMs: z.number().int().positive().default(60_000),
  spikeBaselineWindows: z.number().int().positive().default(60),
  spikeMinHistoryWindows: z.number().int().positive().default(10),
  /** Regular expressions (case-insensitive) a prompt must not match. */
  contentPatterns: z
    .array(
      z.string().refine((p) => {
        try {
          new RegExp(p, 'i');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression'),
    )
    .default([]),
  /** The same rule raises at most one flag per subject within this time. */
  cooldownMs: z.number().int().nonnegative().default(600_000),
});

/**
 * Card payments through Stripe. Without `secretKey` (env SIMO_STRIPE_SECRET_KEY) nothing is sold:
 * the operator grants credits by hand and the dashboard names whom to write to.
 */
export const stripeSchema = z
  .object({
    secretKey: z.string().min(1).optional(),
    /** Signing secret of the `/stripe/webhook` endpoint (env SIMO_STRIPE_WEBHOOK_SECRET). */
    webhookSecret: z.string().min(1).optional(),
    /** Base URL of the Stripe API (env SIMO_STRIPE_API_URL): tests and stripe-mock; default Stripe's. */
    apiUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** What the customer pays in (ISO 4217, lower case). */
    currency: z
      .string()
      .regex(/^[a-z]{3}$/, 'must be a three-letter currency code such as usd')
      .default('usd'),
    /** Smallest units of `currency` charged per USD of credit: 100 sells one USD of credit for 1.00. */
    minorUnitsPerUsd: z.number().int().positive().default(100),
    /** Amounts (USD of credit) offered as buttons on the credits page. */
    presets: z.array(z.number().positive()).default([10, 20, 50, 100]),
    /** Smallest and largest top-up, USD of credit. */
    minimum: z.number().positive().default(5),
    maximum: z.number().positive().default(1000),
    /** Let Stripe Tax compute and add taxes at Checkout. */
    automaticTax: z.boolean().default(false),
    /** Off-session top-ups when a tenant's available credit falls below its threshold. */
    autoTopUp: z
      .object({
        /** Failed charges in a row after which auto top-up switches itself off. */
        maxFailures: z.number().int().positive().default(3),
        /** Time before a failed charge is tried again. */
        retryAfterMs: z.number().int().nonnegative().default(3_600_000),
        /** A replica that claimed a charge and went silent this long is taken over by another. */
        claimTimeoutMs: z.number().int().positive().default(600_000),
      })
      .default({ maxFailures: 3, retryAfterMs: 3_600_000, claimTimeoutMs: 600_000 }),
  })
  .refine((s) => s.minimum <= s.maximum, { path: ['minimum'], message: 'must not exceed maximum' });

/** The operator's details printed on invoices. */
export const legalSchema = z.object({
  /** Registered company name; the brand name when unset. */
  name: z.string().min(1).optional(),
  /** Postal address, one line per entry. */
  address: z.array(z.string().min(1)).default([]),
  /** VAT or other tax registration number. */
  taxId: z.string().min(1).optional(),
  /** Company registration (e.g. register court and number). */
  registration: z.string().min(1).optional(),
  email: z.email().optional(),
});

export const configSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    dataDir: z.string().default('./data'),
    databaseUrl: z.string().optional(),
    /** PostgreSQL connections per replica; size it so replicas × pool stays under the server's max_connections. */
    databasePoolSize: z.coerce.number().int().min(1).max(500).default(10),
    redisUrl: z.string().optional(),
    /** The platform operator's token (`SIMO_ADMIN_TOKEN`); the app reads it as `operatorToken`. */
    adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * Which proxies may set X-Forwarded-For: `false` (default: the socket address is the client),
     * `true` (trust any: only behind a proxy that overwrites the header), or comma-separated addresses/CIDRs.
     */
    trustProxy: z.union([z.boolean(), z.string().min(1)]).default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Check every JSON response against the schema its route documents, answering 500 (and logging why)
     * on a mismatch. For development and tests; off in production, where it would cost every response.
     */
    checkResponses: z.boolean().default(false),
    brand: z
      .object({
        name: z.string().min(1).default('SIMOSphere AI'),
        supportEmail: z.email().default('support@example.com'),
      })
      .default({ name: 'SIMOSphere AI', supportEmail: 'support@example.com' }),
    providers: z.array(providerSchema).default([]),
    models: z.array(modelSchema).default([]),
    plans: z.record(z.string(), planSchema).default({}),
    signup: z
      .object({
        plan: z.string().default('starter'),
        trialCredits: usd.default(5),
        /**
         * Grant the trial credits only once the owner opened the emailed verification link. Default:
         * on when SMTP is configured, off otherwise.
         */
        requireVerifiedEmail: z.boolean().optional(),
      })
      .default({ plan: 'starter', trialCredits: 5 }),
    /**
     * Dashboard sign-in with OpenID Connect. People whose verified email is in `allowedDomains` (all,
     * when empty) sign in through the issuer; someone who is no member yet joins `organization` with
     * `defaultRole` just in time (when `organization` is set).
     */
    sso: z
      .object({
        issuer: z.url(),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1).optional(),
        /** The button's label on the login page. */
        name: z.string().min(1).default('single sign-on'),
        allowedDomains: z.array(z.string().min(1)).default([]),
        defaultRole: z.enum(['owner', 'admin', 'developer', 'billing']).default('developer'),
        organization: z.string().min(1).optional(),
        /** Allow an http issuer (tests, on-prem). */
        allowInsecureIssuer: z.boolean().default(false),
      })
      .optional(),
    /**
     * Outgoing mail (invites, verification, password reset). `url` (env SIMO_SMTP_URL):
     * `smtp://user:pass@host:port` or `smtps://…`; unset, mail goes to the log and the operator outbox.
     */
    smtp: z
      .object({
        url: z.url({ protocol: /^smtps?$/ }).optional(),
        from: z.string().min(3).optional(),
      })
      .default({}),
    /**
     * Days raw usage records are kept; unset keeps them forever. Reports, invoices and balances use
     * daily roll-ups and the ledger, so pruning raw records loses no money.
     */
    usageRetentionDays: z.number().int().min(1).optional(),
    /**
     * Days a response created with `store` (the Responses API's default) is kept for
     * `previous_response_id` and `GET /v1/responses/{id}`; then it is deleted.
     */
    responseRetentionDays: z.number().int().min(1).default(30),
    usageThresholds: z.array(z.number().positive().max(1)).default([0.5, 0.8, 1]),
    limits: z
      .object({
        /** Largest accepted request body. */
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** How long a verified API key stays in the in-process cache. */
        keyCacheTtlMs: z.number().int().nonnegative().default(30_000),
        /** Upper bound on waiting for in-flight requests at shutdown. */
        shutdownGraceMs: z.number().int().nonnegative().default(10_000),
        /** Per-tenant rate limiting; off only for deployments that limit at their own edge (and benchmarks). */
        rateLimiting: z.boolean().default(true),
        /** Failed API-key authentications per client address and minute before the address gets 429s. */
        authFailuresPerMinute: z.number().int().positive().default(20),
        /** Sign-ups per client address and minute: each one grants trial credits. */
        signupsPerMinute: z.number().int().positive().default(3),
        /**
         * Per-address limits count an IPv6 client per network of this prefix length: one subscriber
         * usually holds a whole /64 and can rotate addresses within it at will.
         */
        ipv6PrefixLength: z.number().int().min(16).max(128).default(64),
        /** Time a client has to send a request's head (line and headers), from connecting or starting it. */
        headersTimeoutMs: z.number().int().positive().default(10_000),
        /** Time a client has to send a whole request, head and body; the response is not bounded by it. */
        requestTimeoutMs: z.number().int().positive().default(30_000),
        /** A streamed response whose client accepts no data for this long is cut (upstream aborted, usage settled). */
        writeTimeoutMs: z.number().int().positive().default(30_000),
        /**
         * Open connections per client address (behind trusted proxies: requests in flight per forwarded
         * address); further ones are answered 429 `too_many_connections`. 0 turns the cap off.
         */
        maxConnectionsPerAddress: z.number().int().nonnegative().default(256),
      })
      .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, {
        message: 'headersTimeoutMs must not exceed requestTimeoutMs',
        path: ['headersTimeoutMs'],
      })
      .default({
        maxBodyBytes: 4 * 1024 * 1024,
        keyCacheTtlMs: 30_000,
        shutdownGraceMs: 10_000,
        rateLimiting: true,
        authFailuresPerMinute: 20,
        signupsPerMinute: 3,
        ipv6PrefixLength: 64,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        writeTimeoutMs: 30_000,
        maxConnectionsPerAddress: 256,
      }),
    /**
     * Who may read `/metrics`. `token` (env SIMO_METRICS_TOKEN): a bearer token it requires. `port`
     * (env SIMO_METRICS_PORT) and `host` (env SIMO_METRICS_HOST, default `host`): serve it only on a
     * listener of its own, e.g. an internal interface, and not on the API port.
     */
    metrics: z
      .object({
        token: z.string().min(16, 'must be at least 16 characters').optional(),
        port: z.coerce.number().int().min(0).max(65_535).optional(),
        host: z.string().min(1).optional(),
      })
      .default({}),
    /** Shared state of all replicas (with `redisUrl`): every key starts with `keyPrefix`. */
    redis: z
      .object({
        keyPrefix: z.string().default('simo:'),
        /**
         * How long a rate-limit decision may wait for Redis before this replica counts on its own
         * (degraded). Long enough that a busy event loop is not mistaken for a dead Redis.
         */
        commandTimeoutMs: z.coerce.number().int().min(10).max(10_000).default(250),
      })
      .default({ keyPrefix: 'simo:', commandTimeoutMs: 250 }),
    /**
     * Where the response cache of models with `cache` keeps answers: `database` (the SQL database),
     * or `redis` (with `redisUrl`; the default then). `maxBytes` caps the database store (oldest
     * answers evicted first; Redis bounds itself with its `maxmemory` policy); an answer larger than
     * `maxEntryBytes` is never stored.
     */
    responseCache: z
      .object({
        store: z.enum(['database', 'redis']).optional(),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(256 * 1024 * 1024),
        maxEntryBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
      })
      .default({ maxBytes: 256 * 1024 * 1024, maxEntryBytes: 1024 * 1024 }),
    /** Routing across a model's upstreams, beyond what each model and provider sets. */
    routing: z
      .object({
        /** Answer every inference request with `x-simo-route` (route chosen, attempts). */
        routeHeader: z.boolean().default(false),
      })
      .default({ routeHeader: false }),
    /**
     * OpenTelemetry traces over OTLP/HTTP (JSON), set by the standard variables: `endpoint` from
     * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`),
     * `headers` from OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, `serviceName` from OTEL_SERVICE_NAME,
     * `flushIntervalMs` from OTEL_BSP_SCHEDULE_DELAY; OTEL_SDK_DISABLED=true turns it off. Without an
     * endpoint nothing is traced and the SDK is never loaded. Prompts and completions are exported only
     * with `captureContent` (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true), cut at 16 KiB.
     */
    tracing: z
      .object({
        endpoint: z.url({ protocol: /^https?$/ }).optional(),
        headers: z.record(z.string(), z.string()).default({}),
        serviceName: z.string().min(1).default('simosphere'),
        flushIntervalMs: z.coerce.number().int().positive().default(5_000),
        captureContent: z.boolean().default(false),
      })
      .default({ headers: {}, serviceName: 'simosphere', flushIntervalMs: 5_000, captureContent: false }),
    webhooks: webhooksSchema.default(webhooksSchema.parse({})),
    /** Server-side secrets. `encryptionKey` (env SIMO_SECRET_KEY) encrypts stored webhook secrets. */
    secrets: z.object({ encryptionKey: z.string().min(16).optional() }).default({}),
    auditRules: auditRulesSchema.default(auditRulesSchema.parse({})),
    stripe: stripeSchema.default(stripeSchema.parse({})),
    legal: legalSchema.default({ address: [] }),
  })
  .superRefine((cfg, ctx) => {
    const providerIds = new Set<string>();
    cfg.providers.forEach((p, i) => {
      if (providerIds.has(p.id))
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'id'],
          message: `duplicate provider id '${p.id}'`,
        });
      providerIds.add(p.id);
      // A health check only feeds the breaker; without one it would run for nothing.
      if (p.healthCheck && !p.breaker)
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'healthCheck'],
          message: 'needs `breaker` on the same provider',
        });
    });
    const modelIds = new Set<string>();
    cfg.models.forEach((m, i) => {
      if (modelIds.has(m.id))
        ctx.addIssue({ code: 'custom', path: ['models', i, 'id'], message: `duplicate model id '${m.id}'` });
      modelIds.add(m.id);
      m.routes.forEach((r, j) => {
        if (!providerIds.has(r.provider))
          ctx.addIssue({
            code: 'custom',
            path: ['models', i, 'routes', j, 'provider'],
            message: `unknown provider '${r.provider}'`,
          });
      });
    });
    if (cfg.responseCache.store === 'redis' && !cfg.redisUrl)
      ctx.addIssue({
        code: 'custom',
        path: ['responseCache', 'store'],
        message: 'redis needs redisUrl (SIMO_REDIS_URL)',
      });
    const { stripe } = cfg;
    stripe.presets.forEach((p, i) => {
      if (p < stripe.minimum || p > stripe.maximum)
        ctx.addIssue({
          code: 'custom',
          path: ['stripe', 'presets', i],
          message: 'must lie between stripe.minimum and stripe.maximum',
        });
    });
    if (stripe.secretKey && !stripe.webhookSecret)
      ctx.addIssue({
        code: 'custom',
        path: ['stripe', 'webhookSecret'],
        message:
          'is required with stripe.secretKey (SIMO_STRIPE_WEBHOOK_SECRET): payments are granted by the webhook',
      });
    if (!(cfg.signup.plan in cfg.plans))
      ctx.addIssue({
        code: 'custom',
        path: ['signup', 'plan'],
        message: `unknown plan '${cfg.signup.plan}'`,
      });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type ModelCacheConfig = z.output<typeof modelCacheSchema>;
export type PlanConfig = z.output<typeof planSchema>;
export type StripeConfig = z.output<typeof stripeSchema>;
export type LegalConfig = z.output<typeof legalSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type RetryPolicy = z.output<typeof retryPolicySchema>;
