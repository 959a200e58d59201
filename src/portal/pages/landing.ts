import type { ModelConfig } from '../../config/schema.js';
import { nounFor } from '../../shared/plural.js';
import { html, type SafeHtml } from '../html.js';
import { layout, type PortalContext } from '../layout.js';

/** `$0.05`: prices are per 1M tokens and may have several decimals. */
export const formatPrice = (usd: number) =>
  `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`;

/** The catalog table with prices, shared by the landing page and the docs. */
export function modelTable(models: ModelConfig[]): SafeHtml {
  return html`<div class="table-wrap"><table class="models" data-testid="model-table">
  <caption>Models and prices (USD per 1M tokens)</caption>
  <thead><tr><th scope="col">Model id</th><th scope="col">Kind</th><th scope="col">Context</th>
  <th scope="col" class="num">Input</th><th scope="col" class="num">Output</th></tr></thead>
  <tbody>
  ${models.map(
    (
      m,
    ) => html`<tr><td><code>${m.id}</code></td><td>${m.kind}</td><td>${m.contextWindow.toLocaleString('en-US')}</td>
    <td class="num">${formatPrice(m.pricing.inputPerMTok)}</td>
    <td class="num">${m.kind === 'embedding' ? '—' : formatPrice(m.pricing.outputPerMTok)}</td></tr>`,
  )}
  </tbody>
</table></div>`;
}

/** `GET /`: what the platform offers, the catalog and prices, and the way in. */
export function landingPage(ctx: PortalContext): SafeHtml {
  const { config } = ctx;
  const chat = config.models.find((m) => m.kind === 'chat');
  const plans = Object.entries(config.plans);
  const body = html`
<section class="hero">
  <h1>One OpenAI-compatible API for the models you choose</h1>
  <p class="lead">${config.brand.name} gives your team a single endpoint, per-tenant keys, rate limits,
  usage-based billing and webhooks in front of open models. Keep your OpenAI SDK; change the base URL.</p>
  <p class="actions">
    <a class="button" href="/register">Create an account</a>
    <a class="button secondary" href="/docs">Read the docs</a>
  </p>
  <p class="muted">New accounts get $${config.signup.trialCredits.toFixed(2)} of trial credits. No card needed.</p>
  <pre class="code" aria-label="Example request"><code>curl ${config.publicUrl}/v1/chat/completions \\
  -H "Authorization: Bearer sk-simo-..." \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${chat?.id ?? 'qwen/qwen3-8b'}", "messages": [{"role": "user", "content": "Hello"}]}'</code></pre>
</section>

<section aria-labelledby="features-title">
  <h2 id="features-title">What you get</h2>
  <ul class="features">
    <li><h3>Drop-in compatible</h3><p>Chat completions (streamed or not), embeddings and model listing in the
    exact OpenAI wire format. The official SDKs, LangChain and the AI SDK work unchanged.</p></li>
    <li><h3>Keys you control</h3><p>Create, name, rotate and revoke keys from the dashboard. A rotated key stops
    working the moment the new one is shown.</p></li>
    <li><h3>Clear limits and prices</h3><p>Per-plan requests per minute with standard rate-limit headers, and
    per-token prices you can read below. Usage and cost per day and per model in the dashboard.</p></li>
    <li><h3>Built for agents</h3><p>OpenAPI 3.1, llms.txt, an MCP server and an A2A agent, all behind the same
    keys and limits.</p></li>
  </ul>
</section>

<section id="models" aria-labelledby="models-title">
  <h2 id="models-title">Models</h2>
  ${modelTable(config.models)}
</section>

<section aria-labelledby="plans-title">
  <h2 id="plans-title">Plans</h2>
  <ul class="plans">
    ${plans.map(
      ([name, plan]) =>
        html`<li><h3>${name[0]?.toUpperCase()}${name.slice(1)}</h3><p><strong>${plan.rpm.toLocaleString('en-US')}</strong> ${nounFor(plan.rpm, 'request')} per minute</p>${
          name === config.signup.plan ? html`<p class="muted">Every new account starts here.</p>` : ''
        }</li>`,
    )}
  </ul>
  <p>Need more? Write to <a href="mailto:${config.brand.supportEmail}">${config.brand.supportEmail}</a>.</p>
</section>`;
  return layout(ctx, {
    title: 'OpenAI-compatible AI API',
    description: `${config.brand.name}: an OpenAI-compatible API for open models, with keys, limits, usage billing and webhooks.`,
    body,
  });
}
