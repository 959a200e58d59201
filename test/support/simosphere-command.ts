/**
 * How tests run the `simosphere` command as a separate process: the built `dist/` when it is at least
 * as new as every source file (a fresh clone builds it in `npm ci`), otherwise from source through tsx.
 * The built program starts in about half the time, which adds up over the CLI and process tests.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time of the files under `dir` whose names end in `suffix`. */
function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function distIsCurrent(): boolean {
  try {
    return newestMtime(join(PROJECT_ROOT, 'dist'), '.js') >= newestMtime(join(PROJECT_ROOT, 'src'), '.ts');
  } catch {
    return false;
  }
}

let command: string[] | undefined;

/** `[node, ...args]` that runs `simosphere`; append the subcommand and its options. */
export function simosphereCommand(): string[] {
  command ??= distIsCurrent()
    ? [process.execPath, join(PROJECT_ROOT, 'bin/simosphere.js')]
    : [process.execPath, '--import', 'tsx', join(PROJECT_ROOT, 'src/cli/run.ts')];
  return command;
}
