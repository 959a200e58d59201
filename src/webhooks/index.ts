import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import type { Metrics } from '../observability/metrics.js';
import type { DatabaseHandle } from '../storage/database.js';
import { WebhookDispatcher } from './dispatcher.js';
import { SecretBox } from './secret-box.js';
import { resolveServerSecret } from './server-secret.js';
import { WebhookService } from './webhook-service.js';

/** The webhook subsystem as the container holds it. */
export interface Webhooks {
  /** Tenant self-service over endpoints (routes, dashboard). */
  service: WebhookService;
  /** Background delivery loop of this replica. */
  dispatcher: WebhookDispatcher;
  /** Stops the dispatcher; attempts in flight are logged and retried later. */
  close(): Promise<void>;
}

/** Builds the webhook service and this replica's dispatcher; a server starts it (`startBackgroundJobs`). */
export function createWebhooks(
  database: DatabaseHandle,
  config: ResolvedConfig,
  logger: Logger,
  metrics?: Pick<Metrics, 'webhookDeliveries'>,
): Webhooks {
  const secrets = new SecretBox(resolveServerSecret(config.secrets.encryptionKey, config.dataDir, logger));
  const dispatcher = new WebhookDispatcher(database, secrets, config.webhooks, logger, (outcome) =>
    metrics?.webhookDeliveries.inc({ outcome }),
  );
  const service = new WebhookService(database.db, secrets, {
    allowPrivate: config.webhooks.allowPrivate,
    onDue: () => dispatcher.kick(),
  });
  return { service, dispatcher, close: () => dispatcher.stop() };
}
