import type { ProviderConfig } from '../../config/schema.js';
import type { RouteTable } from './route-table.js';

/** The providers' active health checks; started by a serving replica, never by one-shot commands. */
export interface HealthChecks {
  start(): void;
  stop(): void;
}

/**
 * Every `healthCheck.intervalMs`, a GET on each checked provider's base URL plus `healthCheck.path`
 * (with its key). A 2xx closes the open circuits of the provider's routes at once; anything else counts
 * as one failure of each of them. Providers without `breaker` are not checked: nothing would use it.
 */
export function createHealthChecks(providers: ProviderConfig[], table: RouteTable): HealthChecks {
  const checked = providers.flatMap((p) =>
    p.type === 'openai-compatible' && p.healthCheck && p.breaker ? [p] : [],
  );
  const timers: NodeJS.Timeout[] = [];
  const check = async (p: (typeof checked)[number]) => {
    const { path, timeoutMs } = p.healthCheck!;
    const url = p.baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
    const auth: Record<string, string> = p.apiKey
      ? p.apiKeyHeader === 'x-api-key'
        ? { 'x-api-key': p.apiKey }
        : { authorization: `Bearer ${p.apiKey}` }
      : {};
    let ok = false;
    try {
      const res = await fetch(url, {
        headers: { ...p.headers, ...auth },
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      ok = res.ok;
    } catch {
      ok = false;
    }
    const now = Date.now();
    for (const health of table.all()) if (health.provider === p.id) health.checked(ok, now);
  };
  return {
    start() {
      for (const p of checked) {
        const timer = setInterval(() => void check(p), p.healthCheck!.intervalMs);
        timer.unref();
        timers.push(timer);
      }
    },
    stop() {
      for (const t of timers.splice(0)) clearInterval(t);
    },
  };
}
