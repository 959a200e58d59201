import type { EventType } from '../../../events/outbox.js';
import type { WebhookView } from '../../../webhooks/routes/schemas.js';
import { deliveryLog, getWebhook, listWebhooks } from '../../../webhooks/webhook-queries.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { timeCell, unavailable } from './format.js';
import { secretPanel } from './overview.js';

/** What each subscribable event means; typed by the platform's event list, so none can be missed. */
const EVENT_LABELS: Record<Exclude<EventType, 'webhook.test'>, string> = {
  'usage.threshold_reached': 'Usage reached a share of your credits',
  'key.budget_reached': 'An API key reached its spend budget',
  'key.rotated': 'An API key was rotated',
  'invoice.created': 'An invoice was issued',
  'audit.flagged': 'Something unusual happened on the account',
  'payment.failed': 'An automatic top-up could not be charged',
};

/** The events a customer can subscribe to; `webhook.test` is sent on demand. */
const WEBHOOK_EVENTS = Object.entries(EVENT_LABELS) as Array<[string, string]>;

const statusBadge = (w: WebhookView) =>
  w.status === 'disabled'
    ? html`<span class="badge bad" title="${w.disabled_reason ?? ''}">disabled</span>`
    : html`<span class="badge ok">enabled</span>`;

function testButton(id: string): SafeHtml {
  return html`<form class="inline" data-webhook-action="test" data-webhook-id="${id}">
  <button type="submit" class="small secondary">Send test</button></form>`;
}

/** `GET /dashboard/webhooks`: add an endpoint (secret shown once), send a test, delete. */
export async function webhooksPage(view: DashboardView): Promise<SafeHtml> {
  const hooks = await loadSection(view, () => listWebhooks(view.services, view.session.tenant.id));
  const rows = hooks.ok ? hooks.data.data : [];
  const body = html`<h1>Webhooks</h1>
<p class="muted">We POST signed JSON events to your URL (<code>X-SIMO-Signature: sha256=…</code> and Standard Webhooks
headers), retrying with backoff until it answers 2xx. See <a href="/docs#webhooks">verifying signatures</a>.</p>
<div id="status" role="status" aria-live="polite" hidden></div>
${secretPanel({
  id: 'webhook-secret-panel',
  title: 'Signing secret',
  note: 'Copy it now: this is the only time it is shown. Use it to verify the signature of every event.',
  doneId: 'webhook-secret-done',
})}
${unavailable(hooks, 'Webhooks')}
<section class="panel" aria-labelledby="add-title">
  <h2 id="add-title">Add an endpoint</h2>
  <form id="create-webhook-form" class="stack" data-status="status">
    <label for="webhook-url">Endpoint URL</label>
    <input id="webhook-url" name="url" type="url" required maxlength="2048" placeholder="https://example.com/hooks/simo" inputmode="url">
    <label for="webhook-description">Description <span class="muted">(optional)</span></label>
    <input id="webhook-description" name="description" maxlength="500">
    <fieldset class="checks">
      <legend>Events</legend>
      ${WEBHOOK_EVENTS.map(
        (
          [name, label],
          i,
        ) => html`<label for="event-${i}"><input type="checkbox" id="event-${i}" name="events" value="${name}" checked>
        <code>${name}</code> <span class="muted">${label}</span></label>`,
      )}
    </fieldset>
    <button type="submit">Add endpoint</button>
  </form>
</section>
<div class="table-wrap" id="webhooks-list"><table class="stack-on-small" data-testid="webhooks-table">
  <caption>Endpoints (times in UTC)</caption>
  <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Created</th>
  <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${
    rows.length
      ? rows.map(
          (
            w,
          ) => html`<tr data-webhook-id="${w.id}"><td data-label="URL"><a href="/dashboard/webhooks/${w.id}">${w.url}</a>
          ${w.description ? html`<div class="muted">${w.description}</div>` : ''}</td>
          <td data-label="Events">${w.events.map((e) => html`<code>${e}</code> `)}</td><td data-label="Status">${statusBadge(w)}</td>
          <td data-label="Created">${timeCell(w.created)}</td>
          <td class="row-actions">${testButton(w.id)} <a class="button small secondary" href="/dashboard/webhooks/${w.id}">Deliveries</a>
          <form class="inline" data-webhook-action="delete" data-webhook-id="${w.id}" data-confirm="Delete this endpoint? No more events will be sent to it.">
          <button type="submit" class="small danger">Delete</button></form></td></tr>`,
        )
      : html`<tr><td colspan="5" class="muted">No endpoints yet.</td></tr>`
  }</tbody>
</table></div>`;
  return layout(view.ctx, {
    title: 'Webhooks',
    body,
    viewer: view.viewer,
    active: 'webhooks',
    scripts: ['webhooks.js'],
  });
}

/** `GET /dashboard/webhooks/:id`: one endpoint and its delivery log, every attempt with its status. */
export async function webhookDetailPage(view: DashboardView, id: string): Promise<SafeHtml> {
  const tenantId = view.session.tenant.id;
  const [hook, log] = await Promise.all([
    loadSection(view, () => getWebhook(view.services, tenantId, id)),
    loadSection(view, () => deliveryLog(view.services, tenantId, id, { limit: 100 })),
  ]);
  const attempts = log.ok ? log.data.data : [];
  const pending = log.ok ? log.data.pending.length : 0;
  const w = hook.ok ? hook.data : undefined;
  const body = html`<p><a href="/dashboard/webhooks">← All webhooks</a></p>
<h1>Webhook deliveries</h1>
${unavailable(hook, 'This webhook')}
${w ? html`<p><code>${w.url}</code> ${statusBadge(w)} ${testButton(w.id)}</p>` : ''}
<div id="status" role="status" aria-live="polite" hidden></div>
${pending ? html`<p class="muted">${pending} deliver${pending === 1 ? 'y is' : 'ies are'} waiting for a retry.</p>` : ''}
${unavailable(log, 'The delivery log')}
<div class="table-wrap" id="deliveries-list"><table data-testid="deliveries-table">
  <caption>Attempts, newest first (times in UTC)</caption>
  <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col" class="num">Attempt</th>
  <th scope="col">Result</th><th scope="col" class="num">HTTP</th><th scope="col" class="num">Latency</th><th scope="col">Error</th>
  <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${
    attempts.length
      ? attempts.map(
          (a) => html`<tr><td>${timeCell(a.attempted_at)}</td><td><code>${a.event_type}</code></td>
          <td class="num">${a.attempt}</td>
          <td>${a.succeeded ? html`<span class="badge ok">delivered</span>` : html`<span class="badge bad">failed</span>`}</td>
          <td class="num">${a.status_code ?? '—'}</td><td class="num">${a.latency_ms} ms</td><td>${a.error ?? ''}</td>
          <td class="row-actions">${
            !a.succeeded && a.delivery_status !== 'pending'
              ? html`<form class="inline" data-webhook-action="redeliver" data-webhook-id="${id}" data-delivery-id="${a.delivery_id}">
              <button type="submit" class="small secondary">Redeliver</button></form>`
              : ''
          }</td></tr>`,
        )
      : html`<tr><td colspan="8" class="muted">No attempts yet. Send a test event to try the endpoint.</td></tr>`
  }</tbody>
</table></div>`;
  return layout(view.ctx, {
    title: 'Webhook deliveries',
    body,
    viewer: view.viewer,
    active: 'webhooks',
    scripts: ['webhooks.js'],
  });
}
