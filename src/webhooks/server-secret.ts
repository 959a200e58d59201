import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The server secret that encrypts stored webhook secrets: `secrets.encryptionKey` (SIMO_SECRET_KEY)
 * when set; otherwise one generated on first start and kept in `<dataDir>/secret.key` (mode 0600).
 * The value itself is never logged.
 */
export function resolveServerSecret(
  configured: string | undefined,
  dataDir: string,
  logger: Pick<Logger, 'warn'>,
): string {
  if (configured) return configured;
  const path = join(dataDir, 'secret.key');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  try {
    // 'wx' fails if another process won the race; then its key is the one to use.
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    logger.warn(
      { path },
      'generated a server secret for encrypting webhook secrets; multi-replica deployments must set SIMO_SECRET_KEY to the same value on every replica',
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(path, 'utf8').trim();
}
