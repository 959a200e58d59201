import type { Worker } from 'node:cluster';

/** How long after a worker's exit its last acknowledgements may still be on their way. */
const ACKNOWLEDGEMENT_GRACE_MS = 500;

/**
 * With round-robin scheduling (Node's default off Windows) the primary accepts every connection and
 * sends it to a worker, closing its own copy only once the worker acknowledges it. A worker killed
 * before it acknowledges never does, and Node forgets nothing: the primary holds the connection open
 * for good and its client waits for an answer that never comes. This remembers the connections sent
 * to `worker` and not yet acknowledged, and closes them once it has exited, so their clients see
 * the connection drop like every other connection the dead worker held.
 *
 * It reads Node's internal cluster messages (`{cmd: 'NODE_CLUSTER', act: 'newconn', seq}` out with the
 * connection, `{cmd: 'NODE_CLUSTER', ack: seq}` back), unchanged from Node 0.12 to 24; should they
 * change, nothing matches and nothing is closed.
 */
export function closeConnectionsLostInHandoff(worker: Worker): void {
  const child = worker.process;
  const unacknowledged = new Map<number, { close(): void }>();
  const send = child.send.bind(child) as (...args: unknown[]) => boolean;
  child.send = ((message: unknown, ...rest: unknown[]) => {
    const handle = rest[0];
    if (
      isCluster(message) &&
      message.act === 'newconn' &&
      typeof message.seq === 'number' &&
      isClosable(handle)
    )
      unacknowledged.set(message.seq, handle);
    return send(message, ...rest);
  }) as typeof child.send;
  child.on('internalMessage', (message: unknown) => {
    if (isCluster(message) && typeof message.ack === 'number') unacknowledged.delete(message.ack);
  });
  // Not on 'disconnect': Node holds that back while a sent connection awaits its delivery receipt,
  // which a dead worker never gives. Acknowledgements it sent before dying are still read meanwhile.
  child.once('exit', () => {
    setTimeout(() => {
      for (const handle of unacknowledged.values()) handle.close();
      unacknowledged.clear();
    }, ACKNOWLEDGEMENT_GRACE_MS).unref();
  });
}

interface ClusterMessage {
  cmd: 'NODE_CLUSTER';
  act?: unknown;
  seq?: unknown;
  ack?: unknown;
}

const isCluster = (m: unknown): m is ClusterMessage =>
  typeof m === 'object' && m !== null && (m as { cmd?: unknown }).cmd === 'NODE_CLUSTER';

const isClosable = (h: unknown): h is { close(): void } =>
  typeof h === 'object' && h !== null && typeof (h as { close?: unknown }).close === 'function';
