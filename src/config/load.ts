import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { defaultModels, defaultPlans, SIMULATOR_PROVIDER_ID, UPSTREAM_PROVIDER_ID } from './defaults.js';
import { type Config, type ConfigInput, configSchema } from './schema.js';

/**
 * The configuration as the app uses it: validated, with defaults and derived values filled in. The
 * file's `adminToken` (env `SIMO_ADMIN_TOKEN`) is the platform operator's token, so it is `operatorToken` here.
 */
export interface ResolvedConfig extends Omit<Config, 'adminToken'> {
  /** Bearer token of the platform operator for `/operator/*`; the operator API is off without it. */
  operatorToken: string | undefined;
  /** Absolute base URL used in links and discovery documents, without a trailing slash. */
  publicUrl: string;
  /** Where the config came from, for the start-up log. */
  source: string;
  /** True when no real upstream is configured and the simulator serves the catalog. */
  simulatorOnly: boolean;
}

/** A configuration problem, phrased for the operator: it names the key at fault. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Replaces `${NAME}` with the environment variable's value; a missing variable is an error. */
export function interpolateEnv(value: unknown, env: Env, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined)
        throw new ConfigError(`config ${path.join('.')}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k])]),
    );
  }
  return value;
}

function readConfigFile(env: Env, cwd: string): { raw: Record<string, unknown>; source: string } {
  const explicit = env.SIMO_CONFIG;
  const path = resolve(cwd, explicit ?? 'simosphere.yaml');
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError(`SIMO_CONFIG: file not found: ${path}`);
    return { raw: {}, source: 'built-in defaults' };
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed == null) return { raw: {}, source: path };
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`${path}: must be a mapping`);
  return { raw: interpolateEnv(parsed, env) as Record<string, unknown>, source: path };
}

function parseBool(name: string, v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${name}: expected true or false, got '${v}'`);
}

/** Environment variables win over the file (INTERFACE §2). */
function applyEnv(raw: Record<string, unknown>, env: Env): ConfigInput {
  const cfg: Record<string, unknown> = { ...raw };
  const set = (key: string, v: unknown) => {
    if (v !== undefined && v !== '') cfg[key] = v;
  };
  set('port', env.PORT);
  set('host', env.HOST);
  set('publicUrl', env.SIMO_PUBLIC_URL);
  set('dataDir', env.SIMO_DATA_DIR);
  set('databaseUrl', env.SIMO_DATABASE_URL);
  set('redisUrl', env.SIMO_REDIS_URL);
  set('adminToken', env.SIMO_ADMIN_TOKEN);
  set('logLevel', env.LOG_LEVEL);
  if (env.SIMO_REDIS_PREFIX)
    cfg.redis = { ...((cfg.redis ?? {}) as Record<string, unknown>), keyPrefix: env.SIMO_REDIS_PREFIX };
  set('databasePoolSize', env.SIMO_DATABASE_POOL_SIZE);
  if (env.SIMO_TRUST_PROXY)
    cfg.trustProxy = /^(true|false)$/i.test(env.SIMO_TRUST_PROXY)
      ? parseBool('SIMO_TRUST_PROXY', env.SIMO_TRUST_PROXY)
      : env.SIMO_TRUST_PROXY;
  const metrics: Record<string, unknown> = { ...((cfg.metrics ?? {}) as Record<string, unknown>) };
  if (env.SIMO_METRICS_TOKEN) metrics.token = env.SIMO_METRICS_TOKEN;
  if (env.SIMO_METRICS_PORT) metrics.port = env.SIMO_METRICS_PORT;
  if (env.SIMO_METRICS_HOST) metrics.host = env.SIMO_METRICS_HOST;
  if (Object.keys(metrics).length > 0) cfg.metrics = metrics;
  if (env.SIMO_SMTP_URL)
    cfg.smtp = { ...((cfg.smtp ?? {}) as Record<string, unknown>), url: env.SIMO_SMTP_URL };
  if (env.SIMO_SECRET_KEY) {
    cfg.secrets = { ...((cfg.secrets ?? {}) as Record<string, unknown>), encryptionKey: env.SIMO_SECRET_KEY };
  }
  const stripe: Record<string, unknown> = { ...((cfg.stripe ?? {}) as Record<string, unknown>) };
  if (env.SIMO_STRIPE_SECRET_KEY) stripe.secretKey = env.SIMO_STRIPE_SECRET_KEY;
  if (env.SIMO_STRIPE_WEBHOOK_SECRET) stripe.webhookSecret = env.SIMO_STRIPE_WEBHOOK_SECRET;
  if (env.SIMO_STRIPE_API_URL) stripe.apiUrl = env.SIMO_STRIPE_API_URL;
  if (Object.keys(stripe).length > 0) cfg.stripe = stripe;
  if (env.SIMO_CHECK_RESPONSES)
    cfg.checkResponses = parseBool('SIMO_CHECK_RESPONSES', env.SIMO_CHECK_RESPONSES);
  if (env.SIMO_WEBHOOK_ALLOW_PRIVATE) {
    const webhooks = (cfg.webhooks ?? {}) as Record<string, unknown>;
    cfg.webhooks = {
      ...webhooks,
      allowPrivate: parseBool('SIMO_WEBHOOK_ALLOW_PRIVATE', env.SIMO_WEBHOOK_ALLOW_PRIVATE),
    };
  }
  applyOtelEnv(cfg, env);
  return cfg as ConfigInput;
}

/** The standard OpenTelemetry variables (exporter, service name, batch delay, content capture). */
function applyOtelEnv(cfg: Record<string, unknown>, env: Env): void {
  const tracing: Record<string, unknown> = { ...((cfg.tracing ?? {}) as Record<string, unknown>) };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (endpoint) tracing.endpoint = endpoint;
  const headers = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS || env.OTEL_EXPORTER_OTLP_HEADERS;
  if (headers) tracing.headers = parseOtelHeaders(headers);
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && tracing.endpoint && !/^http\/(json|protobuf)$/.test(protocol))
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: '${protocol}' is not supported; use http/json`);
  if (env.OTEL_SERVICE_NAME) tracing.serviceName = env.OTEL_SERVICE_NAME;
  if (env.OTEL_BSP_SCHEDULE_DELAY) tracing.flushIntervalMs = env.OTEL_BSP_SCHEDULE_DELAY;
  if (env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    tracing.captureContent = parseBool(
      'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
      env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    );
  if (env.OTEL_SDK_DISABLED && parseBool('OTEL_SDK_DISABLED', env.OTEL_SDK_DISABLED)) delete tracing.endpoint;
  if (Object.keys(tracing).length > 0) cfg.tracing = tracing;
}

/** `key1=value1,key2=value2`, values URL-encoded (the OTLP exporter headers format). */
function parseOtelHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError('OTEL_EXPORTER_OTLP_HEADERS: not valid key=value pairs');
    }
  }
  return headers;
}

/** Fills in the default plans and catalog, and wires the SIMO_UPSTREAM_URL shortcut. */
function applyDefaults(cfg: ConfigInput, env: Env): ConfigInput {
  const providers = [...(cfg.providers ?? [])];
  let models = cfg.models && cfg.models.length > 0 ? cfg.models : defaultModels;
  const upstreamUrl = env.SIMO_UPSTREAM_URL;
  if (upstreamUrl) {
    providers.unshift({
      id: UPSTREAM_PROVIDER_ID,
      type: 'openai-compatible',
      baseUrl: upstreamUrl.replace(/\/+$/, ''),
      ...(env.SIMO_UPSTREAM_API_KEY ? { apiKey: env.SIMO_UPSTREAM_API_KEY } : {}),
    });
    // The shortcut serves every catalog model first; configured routes stay behind it as fallbacks.
    models = models.map((m) => ({
      ...m,
      routes: [{ provider: UPSTREAM_PROVIDER_ID, model: m.routes[0]?.model ?? m.id }, ...m.routes],
    }));
  }
  const usesSimulator = models.some((m) => m.routes.some((r) => r.provider === SIMULATOR_PROVIDER_ID));
  if (usesSimulator && !providers.some((p) => p.id === SIMULATOR_PROVIDER_ID)) {
    providers.push({ id: SIMULATOR_PROVIDER_ID, type: 'simulator' });
  }
  const plans = cfg.plans && Object.keys(cfg.plans).length > 0 ? cfg.plans : defaultPlans;
  return { ...cfg, providers, models, plans };
}

/** Turns the first zod issue into one sentence naming the key, e.g. `models.0.routes.1.provider: unknown provider 'x'`. */
export function describeConfigIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid configuration';
  const key = issue.path.map(String).join('.') || '(root)';
  return `config key '${key}': ${issue.message}`;
}

export interface LoadConfigOptions {
  env?: Env;
  cwd?: string;
  /** Config given as an object (tests); skips the file lookup. */
  overrides?: ConfigInput;
}

/** Reads, interpolates, merges and validates the configuration once at boot. Throws ConfigError. */
export function loadConfig(opts: LoadConfigOptions = {}): ResolvedConfig {
  const env = opts.env ?? {};
  const cwd = opts.cwd ?? process.cwd();
  const { raw, source } = opts.overrides
    ? { raw: interpolateEnv(opts.overrides, env) as Record<string, unknown>, source: 'inline' }
    : readConfigFile(env, cwd);
  const merged = applyDefaults(applyEnv(raw, env), env);
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(describeConfigIssue(result.error));
  const { adminToken: operatorToken, ...cfg } = result.data;
  const publicUrl = (
    cfg.publicUrl ?? `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${cfg.port}`
  ).replace(/\/+$/, '');
  const simulatorOnly = cfg.providers.every((p) => p.type === 'simulator');
  return { ...cfg, operatorToken, dataDir: resolve(cwd, cfg.dataDir), publicUrl, source, simulatorOnly };
}
