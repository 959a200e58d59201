import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const TOKEN = 'metrics-scraper-token-0123456789';

describe('/metrics behind SIMO_METRICS_TOKEN', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      env: { SIMO_METRICS_TOKEN: TOKEN },
      config: { limits: { authFailuresPerMinute: 3 } },
    });
  });
  afterAll(() => gw?.stop());

  it('answers 401 without the token and the metrics with it', async () => {
    const anonymous = await fetch(`${gw.url}/metrics`);
    expect(anonymous.status).toBe(401);
    const body = (await anonymous.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_metrics_token' });
    const scraped = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('simosphere_http_requests_total');
  });

  it('counts wrong tokens against the address like any failed authentication', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer wrong-token-${i}` } })).status,
      );
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('/metrics on a listener of its own (SIMO_METRICS_PORT)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { SIMO_METRICS_PORT: '0', SIMO_METRICS_HOST: '127.0.0.1' } });
  });
  afterAll(() => gw?.stop());

  it('serves the metrics there and not on the API port', async () => {
    const metricsUrl = gw.server.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(gw.url).port);
    const scraped = await fetch(`${metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('simosphere_http_requests_total');
    const api = await fetch(`${gw.url}/metrics`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('not_found');
    // Only the metrics live there.
    expect((await fetch(`${metricsUrl}/v1/models`)).status).toBe(404);
    const openapi = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(openapi.paths['/metrics']).toBeUndefined();
  });
});
