/**
 * The Codex CLI (Responses API, custom provider) and Claude Code (Messages API) each complete a turn
 * with one tool call through the gateway, offline on loopback: the fake upstream behind it calls the
 * agent's shell tool once, the agent runs it and sends the output back, and the fake then answers.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const run = promisify(execFile);
const MODEL = 'qwen/qwen3-8b';
const BIN = fileURLToPath(new URL('../../node_modules/.bin/', import.meta.url));

/** Only what the CLIs need: no inherited keys, proxies or user configuration. */
function cleanEnv(home: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', NO_COLOR: '1', ...extra };
}

const toolArgs = (args: unknown) => `tool-args:${encodeURIComponent(JSON.stringify(args))}`;

type Sent = { messages: Array<{ role: string; content?: unknown; tool_call_id?: string }> };

describe('coding agents through the gateway', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let apiKey: string;
  let home: string;
  let workdir: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [{ id: MODEL, routes: [{ provider: 'up' }] }],
      },
    });
    apiKey = (await gw.signUp()).apiKey;
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });
  beforeEach(async () => {
    await upstream.reset();
    await upstream.resetStats();
    home = await mkdtemp(join(tmpdir(), 'simo-agent-home-'));
    workdir = join(home, 'work');
    await mkdir(workdir);
    return () => rm(home, { recursive: true, force: true });
  });

  it('Codex CLI: codex exec runs a shell tool call and finishes the turn', async () => {
    const codexHome = join(home, '.codex');
    await mkdir(codexHome);
    await writeFile(
      join(codexHome, 'config.toml'),
      [
        `model = "${MODEL}"`,
        'model_provider = "simosphere"',
        '[model_providers.simosphere]',
        'name = "SIMOSphere"',
        `base_url = "${gw.v1}"`,
        'env_key = "SIMO_API_KEY"',
        'wire_api = "responses"',
      ].join('\n'),
    );
    await upstream.control(`tool:exec_command,${toolArgs({ cmd: 'echo codex-was-here' })}`);
    const codex = run(join(BIN, 'codex'), ['exec', '--skip-git-repo-check', 'Say hi'], {
      cwd: workdir,
      env: cleanEnv(home, { CODEX_HOME: codexHome, SIMO_API_KEY: apiKey }),
      timeout: 60_000,
    });
    // codex exec also reads a prompt from stdin until it ends.
    codex.child.stdin?.end();
    const { stdout } = await codex;
    expect(stdout).toContain('Hello from fake upstream');
    const stats = await upstream.stats();
    expect(stats.chat).toBe(2);
    const sent = stats.lastRequest?.body as Sent;
    const result = sent.messages.at(-1);
    expect(result?.role).toBe('tool');
    expect(String(result?.content)).toContain('codex-was-here');
  }, 90_000);

  it('Claude Code: claude -p runs a Bash tool call and finishes the turn', async () => {
    await upstream.control(
      `tool:Bash,${toolArgs({ command: 'echo claude-was-here', description: 'Say it' })}`,
    );
    const { stdout } = await run(
      join(BIN, 'claude'),
      ['-p', 'Say hi', '--model', MODEL, '--allowedTools', 'Bash(echo:*)'],
      {
        cwd: workdir,
        env: cleanEnv(home, {
          ANTHROPIC_BASE_URL: gw.url,
          ANTHROPIC_API_KEY: apiKey,
          ANTHROPIC_DEFAULT_HAIKU_MODEL: MODEL,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          DISABLE_TELEMETRY: '1',
          DISABLE_AUTOUPDATER: '1',
          DISABLE_ERROR_REPORTING: '1',
        }),
        timeout: 60_000,
      },
    );
    expect(stdout).toContain('Hello from fake upstream');
    const sent = (await upstream.stats()).lastRequest?.body as Sent;
    expect(sent.messages.at(-1)).toMatchObject({ role: 'tool', content: 'claude-was-here' });
  }, 90_000);
});
