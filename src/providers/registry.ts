import type { ProviderConfig } from '../config/schema.js';
import { OpenAICompatibleProvider } from './openai-compatible.js';
import { SimulatorProvider } from './simulator.js';
import type { ProviderAdapter } from './types.js';

/** A configured provider: its adapter plus the limits the router enforces around it. */
export interface ProviderEntry {
  adapter: ProviderAdapter;
  timeoutMs: number;
  /** The circuit breaker of each of its routes, when configured. */
  breaker?: { failures: number; cooldownMs: number } | undefined;
}

export function createProviders(configs: ProviderConfig[]): Map<string, ProviderEntry> {
  const providers = new Map<string, ProviderEntry>();
  for (const cfg of configs) {
    const adapter =
      cfg.type === 'simulator'
        ? new SimulatorProvider(cfg.id, cfg.tokenDelayMs)
        : new OpenAICompatibleProvider({
            id: cfg.id,
            baseUrl: cfg.baseUrl,
            apiKey: cfg.apiKey,
            headers: cfg.headers,
            timeoutMs: cfg.timeoutMs,
            firstByteTimeoutMs: cfg.firstByteTimeoutMs,
            connections: cfg.connections,
            maxTokensParam: cfg.maxTokensParam,
            surfaces: cfg.surfaces,
            apiKeyHeader: cfg.apiKeyHeader,
          });
    providers.set(cfg.id, { adapter, timeoutMs: cfg.timeoutMs, breaker: cfg.breaker });
  }
  return providers;
}
