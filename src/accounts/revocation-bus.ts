/** A change that makes cached credentials or tenant settings stale. */
export type RevocationEvent = { kind: 'key'; keyId: string } | { kind: 'tenant'; tenantId: string };

/**
 * Broadcasts revocations to every replica so a rotated key is refused everywhere at once.
 * In-process by default; a Redis pub/sub implementation serves multi-replica deployments.
 */
export interface RevocationBus {
  publish(event: RevocationEvent): Promise<void>;
  subscribe(handler: (event: RevocationEvent) => void): void;
  close(): Promise<void>;
}

/** Single-process bus: delivers synchronously to local subscribers. */
export class InProcessRevocationBus implements RevocationBus {
  private readonly handlers: Array<(event: RevocationEvent) => void> = [];

  async publish(event: RevocationEvent): Promise<void> {
    for (const h of this.handlers) h(event);
  }

  subscribe(handler: (event: RevocationEvent) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {}
}
