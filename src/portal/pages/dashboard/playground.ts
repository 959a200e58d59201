import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { PLAYGROUND_CHAT_PATH } from '../../playground-stream.js';
import type { DashboardView } from './context.js';

/** `GET /dashboard/playground`: stream a chat completion from one of the tenant's models. */
export async function playgroundPage(view: DashboardView): Promise<SafeHtml> {
  const models = view.ctx.config.models.filter(
    (m) =>
      m.kind === 'chat' &&
      (view.session.tenant.allowedModels === null || view.session.tenant.allowedModels.includes(m.id)),
  );
  const body = html`<h1>Playground</h1>
<p class="muted">Runs on your account like any API request: it counts against your rate limit and is billed to your
credits. The request is the same JSON you would send to <code>/v1/chat/completions</code>.</p>
<form id="playground-form" class="panel stack" data-endpoint="${PLAYGROUND_CHAT_PATH}">
  <div class="row">
    <div class="field"><label for="pg-model">Model</label>
    <select id="pg-model" name="model" required>
      ${models.map((m) => html`<option value="${m.id}">${m.id}</option>`)}
    </select></div>
    <div class="field"><label for="pg-max">Max completion tokens</label>
    <input id="pg-max" name="max_completion_tokens" type="number" min="1" max="4096" value="256"></div>
    <div class="field"><label for="pg-temp">Temperature</label>
    <input id="pg-temp" name="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></div>
  </div>
  <label for="pg-system">System message <span class="muted">(optional)</span></label>
  <input id="pg-system" name="system" maxlength="4000" placeholder="You are a helpful assistant.">
  <label for="pg-prompt">Your message</label>
  <textarea id="pg-prompt" name="prompt" required maxlength="20000">Write a haiku about open models.</textarea>
  <div class="row"><button type="submit" id="pg-send">Send</button>
  <button type="button" class="secondary" id="pg-stop" disabled>Stop</button></div>
</form>
${models.length === 0 ? html`<div class="alert info" role="status">No chat model is enabled for this account.</div>` : ''}
<div id="pg-status" role="status" aria-live="polite" hidden></div>
<section aria-labelledby="pg-out-title">
  <h2 id="pg-out-title">Response</h2>
  <div id="pg-output" class="playground-output" aria-live="polite" aria-busy="false" data-testid="playground-output"></div>
  <p id="pg-usage" class="muted" data-testid="playground-usage"></p>
</section>`;
  return layout(view.ctx, {
    title: 'Playground',
    body,
    viewer: view.viewer,
    active: 'playground',
    scripts: ['playground.js'],
  });
}
