/**
 * Lints an OpenAPI document in-process, with no network: Redocly's `recommended` ruleset and
 * Spectral's `oas` ruleset, the two linters API consumers are most likely to run against it.
 */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Document, type RulesetDefinition, Spectral } from '@stoplight/spectral-core';
import parsers from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';

/** One finding, as `linter rule at path: message`. */
export interface LintProblem {
  linter: 'redocly' | 'spectral';
  severity: 'error' | 'warning' | 'info' | 'hint';
  rule: string;
  path: string;
  message: string;
}

const SPECTRAL_SEVERITY = ['error', 'warning', 'info', 'hint'] as const;

export async function redoclyProblems(source: string): Promise<LintProblem[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
  return problems.map((p) => ({
    linter: 'redocly' as const,
    severity: p.severity === 'error' ? 'error' : 'warning',
    rule: p.ruleId,
    path: p.location[0]?.pointer ?? '',
    message: p.message,
  }));
}

export async function spectralProblems(source: string): Promise<LintProblem[]> {
  const spectral = new Spectral();
  // As `extends: spectral:oas` in a .spectral.yaml: the ruleset's recommended rules.
  spectral.setRuleset({ extends: [oas] } as RulesetDefinition);
  const results = await spectral.run(new Document(source, parsers.Json, 'openapi.json'));
  return results.map((r) => ({
    linter: 'spectral' as const,
    severity: SPECTRAL_SEVERITY[r.severity] ?? 'error',
    rule: String(r.code),
    path: r.path.join('.'),
    message: r.message,
  }));
}

export async function lintOpenApi(source: string): Promise<LintProblem[]> {
  const [redocly, spectral] = await Promise.all([redoclyProblems(source), spectralProblems(source)]);
  return [...redocly, ...spectral];
}
