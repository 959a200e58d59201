/**
 * What every benchmark phase gets and gives back. A phase is one self-contained measurement
 * (gateway overhead, rate limiter, metering, replicas…) that `bench/run.ts` runs in order.
 */
import type { FakeUpstream } from '../../test/support/fake-upstream-process.js';

/** An HTTP target of a measurement: where to send, with which headers. */
export interface Target {
  /**
   * `direct` (the upstream itself), `gateway` (through SIMOSphere, authenticated) or `bare proxy`
   * (through bench/lib/bare-proxy.ts: the cost of the extra hop alone).
   */
  name: 'direct' | 'gateway' | 'bare proxy';
  /** Base URL ending in `/v1`. */
  v1: string;
  headers: Record<string, string>;
}

export interface BenchContext {
  upstream: FakeUpstream;
  /** The gateway child process (started with `node bin/simosphere.js start`). */
  gateway: { url: string; v1: string; apiKey: string; pid: number };
  direct: Target;
  viaGateway: Target;
  /** The reference proxy (node:http + undici, nothing else), in its own process `pid`. */
  viaBareProxy: Target & { pid: number };
  /** Seconds per load measurement. */
  durationSec: number;
  log(line: string): void;
}

/** One line of the printed table. */
export interface Row {
  label: string;
  direct: string;
  gateway: string;
  /** The same measure through the bare proxy, where the phase takes it. */
  bareProxy?: string;
  /** gateway relative to direct, e.g. `41.2%` or `+0.21 ms`. */
  comparison: string;
}

/** A target from the issue, checked against this run's figures. */
export interface TargetCheck {
  description: string;
  actual: string;
  met: boolean;
}

export interface PhaseResult {
  rows: Row[];
  targets: TargetCheck[];
  /** Raw figures, written to bench/results/latest.json. */
  data: Record<string, unknown>;
}

export interface BenchPhase {
  name: string;
  run(ctx: BenchContext): Promise<PhaseResult>;
}
