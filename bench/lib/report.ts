/** Prints the bench table and writes the JSON results. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { Row, TargetCheck } from './context.js';

export function machine() {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function printTable(rows: Row[], targets: TargetCheck[], out: (line: string) => void): void {
  const header: Row = {
    label: 'measure',
    direct: 'direct',
    bareProxy: 'bare proxy',
    gateway: 'gateway',
    comparison: 'gateway vs direct',
  };
  const all = [header, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => (r[k] ?? '').length));
  const line = (r: Row) =>
    `${r.label.padEnd(w('label'))}  ${r.direct.padStart(w('direct'))}  ${(r.bareProxy ?? '').padStart(w('bareProxy'))}  ${r.gateway.padStart(w('gateway'))}  ${r.comparison.padStart(w('comparison'))}`;
  out(line(header));
  out('-'.repeat(line(header).length));
  for (const r of rows) out(line(r));
  out('');
  for (const t of targets) out(`${t.met ? 'PASS' : 'MISS'}  ${t.description}: ${t.actual}`);
}

export function writeResults(path: string, results: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
