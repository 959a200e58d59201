/**
 * A code or refresh token sent many times at once, on PostgreSQL where the requests really run side
 * by side: tokens are issued once, every other request gets invalid_grant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../support/gateway.js';
import { authorizedCode, startIssuerOnPostgres, tokenRequest } from './oauth-http.js';

let gw: TestGateway;
let base = '';

beforeAll(async () => {
  gw = await startIssuerOnPostgres();
  base = gw.url;
});
afterAll(async () => gw?.stop());

/** One 200 with tokens; every other answer the standard refusal, never a second set of tokens. */
function expectOneWinner(race: Array<{ status: number; body: Record<string, unknown> }>) {
  expect(race.filter((r) => r.status === 200)).toHaveLength(1);
  for (const r of race.filter((r) => r.status !== 200)) {
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
  }
}

describe('one use of a code or refresh token', () => {
  it('gives tokens once when a code is exchanged many times at once', async () => {
    const user = await gw.signUp();
    const { exchange } = await authorizedCode(base, user);
    const race = await Promise.all(Array.from({ length: 8 }, () => tokenRequest(base, exchange)));
    expectOneWinner(race);
  });

  it('rotates a refresh token once when it is used many times at once', async () => {
    const user = await gw.signUp();
    const { clientId, exchange } = await authorizedCode(base, user);
    const first = await tokenRequest(base, exchange);
    expect(first.status).toBe(200);
    const race = await Promise.all(
      Array.from({ length: 8 }, () =>
        tokenRequest(base, {
          grant_type: 'refresh_token',
          refresh_token: first.body.refresh_token,
          client_id: clientId,
        }),
      ),
    );
    expectOneWinner(race);
  });
});
