import { readFileSync } from 'node:fs';

/**
 * The platform's version from package.json, for discovery documents. The file sits two levels above
 * this module both in `src/` and in the built `dist/`.
 */
export function platformVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
