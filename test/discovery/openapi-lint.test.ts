import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_TAGS } from '../../src/discovery/openapi.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { type LintProblem, redoclyProblems, spectralProblems } from '../support/openapi-lint.js';

/**
 * /openapi.json lints clean with the linters API consumers run: Redocly's `recommended` ruleset and
 * Spectral's `oas`. A new route without a description, a tag not declared in `OPENAPI_TAGS`, or an
 * operation without a 4xx response fails here, with the rule and the JSON path at fault.
 */
let t: TestApp;
let source: string;

beforeAll(async () => {
  t = await startTestApp({ env: { SIMO_ADMIN_TOKEN: 'o'.repeat(40) } });
  const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  source = res.body;
});
afterAll(() => t?.close());

const readable = (problems: LintProblem[]) =>
  problems.map((p) => `${p.severity} ${p.rule} at ${p.path}: ${p.message}`);

describe('/openapi.json lints clean', () => {
  it('Redocly (recommended): 0 errors, 0 warnings', async () => {
    expect(readable(await redoclyProblems(source))).toEqual([]);
  });

  it('Spectral (oas): 0 errors, 0 warnings', async () => {
    expect(readable(await spectralProblems(source))).toEqual([]);
  });

  it('declares exactly the tags its operations use, each with a description', () => {
    const doc = JSON.parse(source) as {
      tags: Array<{ name: string; description?: string }>;
      paths: Record<string, Record<string, { tags: string[] }>>;
    };
    const used = new Set(
      Object.values(doc.paths).flatMap((item) => Object.values(item).flatMap((op) => op.tags)),
    );
    expect(doc.tags.map((tag) => tag.name).sort()).toEqual([...used].sort());
    for (const tag of doc.tags) expect(tag.description, tag.name).toBe(OPENAPI_TAGS[tag.name]);
  });
});
