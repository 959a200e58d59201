import { html, type SafeHtml } from '../html.js';
import { layout, type PortalContext } from '../layout.js';

/**
 * `GET /operator/status`: the operator's view of the routes (breaker state, latency, error rate). The
 * page itself holds no data; its script asks for the operator token (kept in its memory only, so a
 * reload asks again) and reads `/operator/routes` with it every few seconds.
 */
export function routeStatusPage(ctx: PortalContext): SafeHtml {
  return layout(ctx, {
    title: 'Route status',
    description: 'Operator view of the upstream routes.',
    scripts: ['route-status.js'],
    body: html`<section class="route-status">
  <h1>Route status</h1>
  <form id="operator-token-form" class="inline" hidden>
    <label for="operator-token">Operator token</label>
    <input id="operator-token" name="token" type="password" autocomplete="off" required>
    <button type="submit">Show routes</button>
  </form>
  <p id="route-status-message" class="muted" role="status"></p>
  <table id="route-status-table" hidden>
    <thead>
      <tr><th scope="col">Route</th><th scope="col">Models</th><th scope="col">Breaker</th><th scope="col">Latency</th><th scope="col">Error rate</th><th scope="col">In flight</th><th scope="col">Attempts</th><th scope="col">Failures</th></tr>
    </thead>
    <tbody></tbody>
  </table>
</section>`,
  });
}
