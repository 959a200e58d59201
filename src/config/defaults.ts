import type { ConfigInput } from './schema.js';

/** Plans the portal promises when the operator configures none. */
export const defaultPlans: NonNullable<ConfigInput['plans']> = {
  starter: { rpm: 60 },
  professional: { rpm: 600 },
  enterprise: { rpm: 6000 },
};

/** The catalog served out of the box, so a fresh clone answers the quickstart. */
export const defaultModels: NonNullable<ConfigInput['models']> = [
  {
    id: 'qwen/qwen3-8b',
    ownedBy: 'qwen',
    kind: 'chat',
    contextWindow: 32_768,
    pricing: { inputPerMTok: 0.05, outputPerMTok: 0.25 },
    routes: [{ provider: 'simulator' }],
  },
  {
    id: 'qwen/qwen3-embedding-0.6b',
    ownedBy: 'qwen',
    kind: 'embedding',
    contextWindow: 32_768,
    pricing: { inputPerMTok: 0.01, outputPerMTok: 0 },
    routes: [{ provider: 'simulator' }],
  },
];

export const SIMULATOR_PROVIDER_ID = 'simulator';
export const UPSTREAM_PROVIDER_ID = 'upstream';
