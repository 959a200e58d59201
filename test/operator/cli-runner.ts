/** Runs the `simosphere` CLI as a user would: a separate process. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { simosphereCommand } from '../support/simosphere-command.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The caller's environment minus anything that would point the CLI elsewhere, plus `extra`. */
function cliEnv(dataDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SIMO_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  for (const name of ['SIMO_DATABASE_URL', 'SIMO_CONFIG', 'SIMO_REDIS_URL', 'SIMO_ADMIN_TOKEN'])
    delete env[name];
  return { ...env, ...extra };
}

export async function simosphere(
  dataDir: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<CliResult> {
  try {
    const [node, ...program] = simosphereCommand();
    const { stdout, stderr } = await run(node!, [...program, ...args], {
      env: cliEnv(dataDir, extraEnv),
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
