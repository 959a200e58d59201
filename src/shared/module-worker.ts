import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` (without extension) that sits beside the module at `self`
 * (its `import.meta.url`). Run from TypeScript sources (tests, `npm run dev`), a worker has no
 * TypeScript loader of its own, so it imports the source through tsx (a dev dependency).
 */
export function spawnModuleWorker(self: string, name: string, opts: WorkerOptions = {}): Worker {
  if (!self.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, self), opts);
  const tsx = join(dirname(createRequire(self).resolve('tsx/package.json')), 'dist/esm/api/index.mjs');
  const entry = new URL(`./${name}.ts`, self).href;
  const boot = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return new Worker(boot, { ...opts, eval: true });
}
