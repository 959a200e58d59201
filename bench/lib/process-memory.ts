/** Memory and file-descriptor readings of processes, from /proc and the gateway's own `/metrics`. */
import { readFileSync } from 'node:fs';

const MB = 2 ** 20;

/** Resident set size of a process in bytes (VmRSS); NaN where /proc is unavailable. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** V8 heap figures from prom-client's default metrics, in bytes (NaN when not exposed). */
export interface HeapReading {
  /** Live and not-yet-collected objects. */
  used: number;
  /** Committed to the heap (what RSS holds for it). */
  total: number;
  /** Buffers and other memory owned by JS objects outside the heap. */
  external: number;
}

/** Reads {@link HeapReading} from `GET {url}/metrics`. */
export async function heapBytes(url: string): Promise<HeapReading> {
  let text = '';
  try {
    text = await (await fetch(`${url}/metrics`)).text();
  } catch {
    // Reported as NaN below.
  }
  const metric = (name: string) => {
    const value = new RegExp(`^simosphere_nodejs_${name}\\s+(\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? Number.NaN : Number(value);
  };
  return {
    used: metric('heap_size_used_bytes'),
    total: metric('heap_size_total_bytes'),
    external: metric('external_memory_bytes'),
  };
}

/** V8 heap in use (see {@link heapBytes}). */
export async function heapUsedBytes(url: string): Promise<number> {
  return (await heapBytes(url)).used;
}

/** The soft limit on open files of this process (children inherit it); Infinity when unlimited. */
export function openFilesLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
    if (soft === undefined) return Number.NaN;
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return Number.NaN;
  }
}

export const toMb = (bytes: number): number => bytes / MB;

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two points. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
