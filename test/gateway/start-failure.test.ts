/**
 * A server that cannot bind its port fails its start and leaves nothing running: a process that
 * embeds it (or tries another port) is not kept alive by the jobs, threads and connections it began.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

it('a start on a port already taken rejects with EADDRINUSE and the process then ends on its own', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as { port: number };
  const script = `
    import { mkdtempSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { loadConfig } from './src/config/load.ts';
    import { createLogger } from './src/observability/logger.ts';
    import { startServer } from './src/server.ts';
    const config = loadConfig({ env: { PORT: '${port}', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
      SIMO_DATA_DIR: mkdtempSync(join(tmpdir(), 'simo-busy-port-')) } });
    await startServer(config, createLogger('silent')).then(
      () => console.log('started'),
      (err) => console.log(err.code),
    );`;
  try {
    // Killed after 15 s: a process still running then was kept alive by what the failed start left.
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: root, timeout: 15_000 },
    );
    expect(stdout.trim()).toBe('EADDRINUSE');
  } finally {
    holder.close();
  }
}, 30_000);
