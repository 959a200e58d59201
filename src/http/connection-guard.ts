import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../shared/errors.js';
import { addressKey } from './client-address.js';
import type { TrustedProxy } from './trusted-proxies.js';

/**
 * Caps what one client address may hold open at once (`limits.maxConnectionsPerAddress`).
 *
 * A client that connects directly is capped by its open connections: one past the cap is not
 * dropped blindly but answered `429 too_many_connections` with `Connection: close` at its first
 * request (a connection that never sends one is closed by the head timeout). Behind a trusted
 * proxy every connection is the proxy's, so capping sockets would throttle all clients together;
 * there the cap applies to requests in flight per forwarded client address, and the proxy's
 * connection stays open. Addresses are counted like every per-address limit: an IPv6 client per
 * network of `limits.ipv6PrefixLength` bits (`addressKey`).
 */
export class ConnectionGuard {
  /** Open direct connections per address. */
  private readonly open = new Map<string, number>();
  /** Requests in flight per forwarded client address, over proxy connections. */
  private readonly inFlight = new Map<string, number>();
  private readonly overCap = new WeakSet<Socket>();
  private readonly proxied = new WeakSet<Socket>();

  private readonly trusted: TrustedProxy;

  constructor(
    private readonly max: number,
    trusted: TrustedProxy | false,
    private readonly ipv6PrefixLength: number,
  ) {
    this.trusted = trusted || (() => false);
  }

  /** Starts counting the server's connections; a cap of 0 counts nothing. */
  attach(server: Server): void {
    if (this.max > 0) server.on('connection', this.onConnection);
  }

  /** For the first request hook: throws the 429 for a connection or client over the cap. */
  check(request: FastifyRequest, reply: FastifyReply): void {
    if (this.max === 0) return;
    const socket = request.raw.socket;
    if (this.overCap.has(socket))
      throw tooMany(this.max, 'open connections from your address', { connection: 'close' });
    if (!this.proxied.has(socket)) return;
    const client = request.addressKey;
    const count = this.inFlight.get(client) ?? 0;
    if (count >= this.max) throw tooMany(this.max, 'requests in flight from your address', {});
    this.inFlight.set(client, count + 1);
    reply.raw.once('close', () => release(this.inFlight, client));
  }

  private readonly onConnection = (socket: Socket): void => {
    const address = socket.remoteAddress;
    if (address === undefined) return; // already gone
    if (this.trusted(address, 0)) {
      this.proxied.add(socket);
      return;
    }
    const key = addressKey(address, this.ipv6PrefixLength);
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) {
      this.overCap.add(socket);
      return;
    }
    this.open.set(key, count + 1);
    socket.once('close', () => release(this.open, key));
  };
}

function release(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

const tooMany = (max: number, what: string, headers: Record<string, string>) =>
  new ApiError(
    'too_many_connections',
    `Too many ${what} (at most ${max} at once). Reuse connections, or retry once others have finished.`,
    null,
    { 'retry-after': '1', ...headers },
  );
