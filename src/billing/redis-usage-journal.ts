import type { Redis } from 'ioredis';
import type { NewUsageRecordRow } from '../storage/tables.js';
import type { UsageJournal, UsageJournalState } from './usage-journal.js';

export interface RedisUsageJournalOptions {
  /**
   * A connection of the journal's own: its command timeout must allow a slow Redis to answer (a
   * record is only durable once Redis has it), unlike the rate limiter's fail-fast one.
   */
  client: Redis;
  /** Key prefix of the deployment; keys are `<prefix>usage:…`. */
  keyPrefix: string;
  /** This writer's name, unique per process lifetime. */
  owner: string;
  /** A writer whose lease is this old is dead: its entries are replayed. Default 3 s. */
  leaseMs?: number;
  /** How often the lease is renewed (and a degraded journal probes Redis). Default 1 s. */
  heartbeatMs?: number;
  /** Called on every transition between healthy and degraded (never twice in a row for one state). */
  onHealthChange?: (degraded: boolean, err?: unknown) => void;
}

/** Entries read and replayed per round while recovering a dead writer. */
const REPLAY_PAGE = 500;
/** How long a survivor holds a dead writer's entries while replaying them (renewed every page). */
const CLAIM_MS = 10_000;

// Takes the claim on a dead writer's stream, or renews it when it is already ours (a claim left by a
// failed release must not lock its own holder out).
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

// Drops the claim if still ours; forgets the writer once it is gone and nothing of it is left. Atomic,
// so a slow writer that comes back and appends is never forgotten with entries in its stream.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('XLEN', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[3])
  redis.call('SREM', KEYS[4], ARGV[2])
end
return 1`;

interface JournalCommands {
  simoUsageClaim(claim: string, claimer: string, ttlMs: number): Promise<number>;
  simoUsageRelease(
    claim: string,
    lease: string,
    stream: string,
    owners: string,
    claimer: string,
    owner: string,
  ): Promise<number>;
}

type Entries = Array<[id: string, fields: string[]]>;

/** A record appended and not yet acknowledged; `streamId` once it was sent to Redis. */
interface Entry {
  json: string;
  streamId?: string;
}

/**
 * Settled usage in Redis, one stream per writer, until the database has it. Records are appended in
 * one MULTI per event-loop turn (so a request waits for at most one round trip, shared with every
 * request settled in the same turn), and deleted once their batch commits. Each writer renews a lease
 * every second; every replica looks for writers whose lease expired and replays their entries, so a
 * replica that dies for good, data dir and all, loses nothing it had answered.
 *
 * When Redis fails or is unreachable the journal reports itself degraded and answers appends at once
 * (the local write-ahead log still has every record); the records it could not store are sent again,
 * if still uncommitted, as soon as the heartbeat finds Redis answering.
 */
export class RedisUsageJournal implements UsageJournal {
  private readonly client: Redis & JournalCommands;
  private readonly owner: string;
  private readonly ownersKey: string;
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly onHealthChange: (degraded: boolean, err?: unknown) => void;
  private readonly heartbeat: NodeJS.Timeout;
  /** Appended and not acknowledged, by the id given to the meter. */
  private readonly entries = new Map<string, Entry>();
  /** To send with the next turn. */
  private queue: string[] = [];
  /** Not stored because Redis failed: sent again once it answers. */
  private readonly unstored = new Set<string>();
  /** Stream ids of acknowledged entries, to delete with the next turn. */
  private deletions: string[] = [];
  private scheduled: Promise<void> | null = null;
  private appended = 0;
  private lastMs = 0;
  private seq = 0;
  private degraded = false;
  private closed = false;
  private readonly onReady = () => void this.renewLease();
  private readonly onClose = () => this.setDegraded(true, new Error('connection to Redis lost'));

  constructor(opts: RedisUsageJournalOptions) {
    const client = opts.client as Redis & Partial<JournalCommands>;
    if (!client.simoUsageClaim) {
      client.defineCommand('simoUsageClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
      client.defineCommand('simoUsageRelease', { numberOfKeys: 4, lua: RELEASE_SCRIPT });
    }
    this.client = client as Redis & JournalCommands;
    this.owner = opts.owner;
    this.prefix = `${opts.keyPrefix}usage:`;
    this.ownersKey = `${this.prefix}writers`;
    this.leaseMs = opts.leaseMs ?? 3_000;
    this.onHealthChange = opts.onHealthChange ?? (() => {});
    this.client.on('ready', this.onReady);
    this.client.on('close', this.onClose);
    if (this.client.status !== 'ready') this.setDegraded(true, new Error(`Redis is ${this.client.status}`));
    void this.renewLease();
    this.heartbeat = setInterval(() => void this.renewLease(), opts.heartbeatMs ?? 1_000);
    this.heartbeat.unref();
  }

  append(row: NewUsageRecordRow): { id: string; durable: Promise<void> } {
    const id = String(++this.appended);
    this.entries.set(id, { json: JSON.stringify(row) });
    this.queue.push(id);
    return { id, durable: this.schedule() };
  }

  acknowledge(ids: readonly string[]): void {
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.entries.delete(id);
      this.unstored.delete(id);
      // Sent after the append on the same connection, so it never overtakes it.
      if (entry.streamId) this.deletions.push(entry.streamId);
    }
    if (this.deletions.length > 0) void this.schedule();
  }

  state(): UsageJournalState {
    return this.degraded ? 'degraded' : 'redis';
  }

  async recoverDead(replay: (rows: NewUsageRecordRow[]) => Promise<void>): Promise<number> {
    if (!this.usable()) return 0;
    const writers = (await this.client.smembers(this.ownersKey)).filter((w) => w !== this.owner);
    if (writers.length === 0) return 0;
    const probe = this.client.pipeline();
    for (const w of writers) probe.exists(this.leaseKey(w));
    const alive = ((await probe.exec()) ?? []).map(([err, n]) => err !== null || n === 1);
    let replayed = 0;
    for (const [i, writer] of writers.entries()) {
      if (alive[i]) continue;
      const claim = this.claimKey(writer);
      if ((await this.client.simoUsageClaim(claim, this.owner, CLAIM_MS)) !== 1) continue;
      try {
        replayed += await this.replayStream(writer, claim, replay);
      } finally {
        await this.client.simoUsageRelease(
          claim,
          this.leaseKey(writer),
          this.streamKey(writer),
          this.ownersKey,
          this.owner,
          writer,
        );
      }
    }
    return replayed;
  }

  async close(clean: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.scheduled;
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    if (this.client.status !== 'ready') return;
    try {
      if (clean)
        await this.client
          .multi()
          .del(this.streamKey(this.owner), this.leaseKey(this.owner))
          .srem(this.ownersKey, this.owner)
          .exec();
      else await this.client.del(this.leaseKey(this.owner));
    } catch {
      // Redis went away meanwhile: the lease expires on its own and survivors replay what is left.
    }
  }

  private async replayStream(
    writer: string,
    claim: string,
    replay: (rows: NewUsageRecordRow[]) => Promise<void>,
  ): Promise<number> {
    const stream = this.streamKey(writer);
    let replayed = 0;
    for (;;) {
      const entries = (await this.client.xrange(stream, '-', '+', 'COUNT', REPLAY_PAGE)) as Entries;
      if (entries.length === 0) return replayed;
      const rows = entries.flatMap(([, fields]) => {
        const json = fields[fields.indexOf('r') + 1];
        try {
          return json ? [JSON.parse(json) as NewUsageRecordRow] : [];
        } catch {
          return [];
        }
      });
      await replay(rows);
      await this.client.xdel(stream, ...entries.map(([id]) => id));
      replayed += rows.length;
      // A writer that was only slow renews its lease when it wakes: it commits the rest itself.
      if ((await this.client.exists(this.leaseKey(writer))) === 1) return replayed;
      await this.client.simoUsageClaim(claim, this.owner, CLAIM_MS);
    }
  }

  /** Sends what this turn appended and acknowledged: one MULTI for the appends, one XDEL. */
  private schedule(): Promise<void> {
    this.scheduled ??= new Promise((resolve) =>
      setImmediate(() => {
        this.scheduled = null;
        resolve(this.send());
      }),
    );
    return this.scheduled;
  }

  private async send(): Promise<void> {
    // Entries acknowledged before they were sent need not be sent at all.
    const ids = this.queue.filter((id) => this.entries.has(id));
    const deletions = this.deletions;
    this.queue = [];
    this.deletions = [];
    if (this.degraded || !this.usable()) {
      for (const id of ids) this.unstored.add(id);
      return;
    }
    const stream = this.streamKey(this.owner);
    const sent: Array<Promise<unknown>> = [];
    if (ids.length > 0) {
      // The writer is listed in the same transaction as its entries: survivors always find them.
      const tx = this.client.multi().sadd(this.ownersKey, this.owner);
      for (const id of ids) {
        const entry = this.entries.get(id)!;
        entry.streamId = this.nextStreamId();
        tx.xadd(stream, entry.streamId, 'r', entry.json);
      }
      sent.push(
        tx.exec().then((results) => {
          const failed = results?.find(([err]) => err !== null)?.[0];
          if (!results || failed) throw failed ?? new Error('usage journal transaction aborted');
        }),
      );
    }
    if (deletions.length > 0) sent.push(this.client.xdel(stream, ...deletions));
    try {
      await Promise.all(sent);
    } catch (err) {
      // Perhaps stored after all (a timeout): sent again with new ids, the old copies only cost a
      // replay that stores nothing, and go with the stream at a clean shutdown.
      for (const id of ids) {
        const entry = this.entries.get(id);
        if (!entry) continue;
        delete entry.streamId;
        this.unstored.add(id);
      }
      this.setDegraded(true, err);
    }
  }

  private async renewLease(): Promise<void> {
    if (this.closed || !this.usable()) return;
    try {
      await this.client.set(this.leaseKey(this.owner), '1', 'PX', this.leaseMs);
      this.setDegraded(false);
    } catch (err) {
      this.setDegraded(true, err);
    }
  }

  /** Stream ids chosen here (time-ordered, strictly increasing), so they are known before Redis answers. */
  private nextStreamId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else this.seq++;
    return `${this.lastMs}-${this.seq}`;
  }

  // A client that is not connected would fail the command anyway; skipping it saves the attempt.
  private usable(): boolean {
    if (this.client.status === 'ready') return true;
    this.setDegraded(true, new Error(`Redis is ${this.client.status}`));
    return false;
  }

  private setDegraded(degraded: boolean, err?: unknown): void {
    if (this.degraded === degraded) return;
    this.degraded = degraded;
    if (!degraded && this.unstored.size > 0) {
      // Redis answers again: what it missed meanwhile and is still uncommitted goes in now.
      this.queue.push(...this.unstored);
      this.unstored.clear();
      void this.schedule();
    }
    this.onHealthChange(degraded, err);
  }

  private streamKey(writer: string): string {
    return `${this.prefix}log:${writer}`;
  }

  private leaseKey(writer: string): string {
    return `${this.prefix}lease:${writer}`;
  }

  private claimKey(writer: string): string {
    return `${this.prefix}claim:${writer}`;
  }
}
