/**
 * The examples on /docs run as written against the server: every shell and TypeScript block is taken
 * from the rendered page (HTML-unescaped) and executed, with only `$SIMO_API_KEY` provided.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGatewayAt, type TestGateway } from '../support/gateway.js';

const run = promisify(execFile);

const decodeEntities = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');

/** The code blocks of the page, by language. */
function codeBlocks(page: string, lang: string): string[] {
  const pattern = new RegExp(`<code class="language-${lang}">([\\s\\S]*?)</code>`, 'g');
  return [...page.matchAll(pattern)].map((m) => decodeEntities(m[1]!));
}

describe('docs examples run as written', () => {
  let gw: TestGateway;
  let page = '';
  let apiKey = '';
  // Inside the project (git-ignored), so `import OpenAI from 'openai'` resolves as in a user's project.
  mkdirSync(join(process.cwd(), 'artifacts'), { recursive: true });
  const scratch = mkdtempSync(join(process.cwd(), 'artifacts', 'docs-examples-'));

  beforeAll(async () => {
    gw = await startTestGatewayAt((_port, url) => ({ env: { SIMO_PUBLIC_URL: url } }));
    page = await (await fetch(`${gw.url}/docs`)).text();
    apiKey = (await gw.signUp()).apiKey;
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('shows this server’s URL and real model ids', () => {
    expect(page).toContain(`${gw.url}/v1/chat/completions`);
    expect(page).toContain('qwen/qwen3-8b');
    expect(page).not.toContain('api.simosphereai.com');
  });

  it('runs every curl example', async () => {
    const curl = await run('curl', ['--version']).catch(() => null);
    if (!curl) return console.warn('[docs examples] curl is not installed; shell examples not run');
    const blocks = codeBlocks(page, 'bash').filter((b) => b.includes('curl '));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      const { stdout } = await run(
        'bash',
        ['-euo', 'pipefail', '-c', block.replace(/\bcurl /g, 'curl -sS --fail-with-body ')],
        {
          env: { PATH: process.env.PATH ?? '', SIMO_API_KEY: apiKey },
          timeout: 15_000,
        },
      );
      // An error is an object; a Responses answer carries `"error": null` when all went well.
      expect(stdout, block).not.toMatch(/"error"\s*:\s*\{/);
    }
  });

  it('runs the TypeScript examples with the openai SDK', async () => {
    const blocks = codeBlocks(page, 'ts').concat(codeBlocks(page, 'typescript'));
    const runnable = blocks.filter((b) => b.includes("from 'openai'") && !b.includes('…'));
    expect(runnable.length).toBeGreaterThan(0);
    for (const [i, block] of runnable.entries()) {
      const file = join(scratch, `example-${i}.mts`);
      writeFileSync(file, block);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        env: { PATH: process.env.PATH ?? '', SIMO_API_KEY: apiKey },
        timeout: 20_000,
      });
      expect(stdout.trim().length, block).toBeGreaterThan(0);
    }
  });
});
