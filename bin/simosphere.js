#!/usr/bin/env node
// Entry of the `simosphere` command; the TypeScript build in dist/ is made by `npm ci` (prepare).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('simosphere: dist/ is missing; run `npm ci` (or `npm run build`) first.\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli();
