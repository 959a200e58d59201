import { plural } from '../../shared/plural.js';
import { html, type SafeHtml } from '../html.js';
import { layout, type PortalContext } from '../layout.js';

interface Origin {
  id: string;
  name: string;
  baseUrl: string;
  keyShape: string;
  exampleModel: string;
  sdkNote: string;
  before: string;
}

/** `GET /compare`: what changes when moving an existing integration here, side by side. */
export function comparePage(ctx: PortalContext): SafeHtml {
  const { config } = ctx;
  const chatModels = config.models.filter((m) => m.kind === 'chat');
  const embeddingModels = config.models.filter((m) => m.kind === 'embedding');
  const model = chatModels[0]?.id ?? 'qwen/qwen3-8b';
  const base = `${config.publicUrl}/v1`;
  const origins: Origin[] = [
    {
      id: 'openai',
      name: 'OpenAI',
      baseUrl: 'https://api.openai.com/v1',
      keyShape: 'sk-…',
      exampleModel: 'gpt-4o-mini',
      sdkNote: 'Keep the openai SDK. Only the base URL, the key and the model id change.',
      before: `from openai import OpenAI

client = OpenAI()  # reads OPENAI_API_KEY
r = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Hello"}],
)`,
    },
    {
      id: 'mistral',
      name: 'Mistral',
      baseUrl: 'https://api.mistral.ai/v1',
      keyShape: 'a Mistral API key',
      exampleModel: 'mistral-small-latest',
      sdkNote:
        'Mistral’s REST API already follows the OpenAI shape, so the simplest move is to the openai SDK (or keep raw HTTP and change the URL).',
      before: `import os
from mistralai import Mistral

client = Mistral(api_key=os.environ["MISTRAL_API_KEY"])
r = client.chat.complete(
    model="mistral-small-latest",
    messages=[{"role": "user", "content": "Hello"}],
)`,
    },
    {
      id: 'hf',
      name: 'Hugging Face Inference',
      baseUrl: 'https://router.huggingface.co/v1',
      keyShape: 'hf_…',
      exampleModel: 'Qwen/Qwen3-8B',
      sdkNote:
        'huggingface_hub’s InferenceClient accepts any OpenAI-compatible base URL, so it can stay; model ids here are lower-case and have no provider suffix.',
      before: `import os
from huggingface_hub import InferenceClient

client = InferenceClient(api_key=os.environ["HF_TOKEN"])
r = client.chat.completions.create(
    model="Qwen/Qwen3-8B",
    messages=[{"role": "user", "content": "Hello"}],
)`,
    },
  ];
  const after = (o: Origin) =>
    o.id === 'hf'
      ? `import os
from huggingface_hub import InferenceClient

client = InferenceClient(
    base_url="${base}",
    api_key=os.environ["SIMO_API_KEY"],
)
r = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)`
      : `import os
from openai import OpenAI

client = OpenAI(
    base_url="${base}",
    api_key=os.environ["SIMO_API_KEY"],
)
r = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)`;

  const body = html`<article class="prose wide">
<h1>Migrating to ${config.brand.name}</h1>
<p class="lead">If your code talks to OpenAI, Mistral or Hugging Face Inference today, moving here is a
configuration change: a new base URL, a new key and our model ids. Requests, responses, streaming and
errors keep the OpenAI format you already parse.</p>

<h2>At a glance</h2>
<div class="table-wrap"><table class="compare" data-testid="compare-table">
  <caption>What changes, per provider</caption>
  <thead><tr><th scope="col"></th>${origins.map((o) => html`<th scope="col">${o.name}</th>`)}<th scope="col">${config.brand.name}</th></tr></thead>
  <tbody>
    <tr><th scope="row">Base URL</th>${origins.map((o) => html`<td><code>${o.baseUrl}</code></td>`)}<td><code>${base}</code></td></tr>
    <tr><th scope="row">Key</th>${origins.map((o) => html`<td>${o.keyShape}</td>`)}<td><code>sk-simo-…</code> from <a href="/dashboard/keys">the dashboard</a></td></tr>
    <tr><th scope="row">Auth header</th>${origins.map(() => html`<td><code>Authorization: Bearer</code></td>`)}<td><code>Authorization: Bearer</code> or <code>X-API-Key</code></td></tr>
    <tr><th scope="row">Example model</th>${origins.map((o) => html`<td><code>${o.exampleModel}</code></td>`)}<td><code>${model}</code></td></tr>
    <tr><th scope="row">Rate-limit headers</th>${origins.map(() => html`<td>provider-specific</td>`)}<td><code>X-RateLimit-*</code> and OpenAI’s <code>x-ratelimit-*-requests</code></td></tr>
    <tr><th scope="row">APIs</th>${origins.map((o) => html`<td>${o.id === 'openai' ? 'Chat Completions, Responses, Completions, Embeddings' : 'Chat Completions, Embeddings'}</td>`)}<td>Chat Completions, Responses, Completions, Embeddings, and Anthropic’s Messages</td></tr>
  </tbody>
</table></div>

<h2>The quickest switch: environment variables</h2>
<p>The official openai SDKs (Python and TypeScript) read their base URL and key from the environment, so
many programs move without touching code:</p>
<pre class="code"><code>export OPENAI_BASE_URL="${base}"
export OPENAI_API_KEY="sk-simo-..."</code></pre>

${origins.map(
  (o) => html`<section aria-labelledby="from-${o.id}">
<h2 id="from-${o.id}">From ${o.name}</h2>
<p>${o.sdkNote}</p>
<div class="side-by-side">
  <figure><figcaption>Before</figcaption><pre class="code"><code>${o.before}</code></pre></figure>
  <figure><figcaption>After</figcaption><pre class="code"><code>${after(o)}</code></pre></figure>
</div>
</section>`,
)}

<h2>Model ids</h2>
<p>Ask <code>GET ${base}/models</code> with your key for the list your account may use. Today’s catalog:</p>
<ul>
  ${chatModels.map((m) => html`<li><code>${m.id}</code> — chat, ${plural(m.contextWindow, 'token')} of context</li>`)}
  ${embeddingModels.map((m) => html`<li><code>${m.id}</code> — embeddings</li>`)}
</ul>

<h2>What stays the same</h2>
<ul>
  <li>The request body of <code>/v1/chat/completions</code> and <code>/v1/embeddings</code>, including tools,
  <code>response_format</code>, <code>stream</code> and <code>stream_options.include_usage</code>.</li>
  <li>Streaming as Server-Sent Events ending with <code>data: [DONE]</code>.</li>
  <li>Errors as <code>{"error": {"message", "type", "param", "code"}}</code> with the usual status codes, so SDK
  retries and exception classes behave as before.</li>
  <li>The Responses API at <code>${base}/responses</code> (streaming, function tools, <code>store</code> and
  <code>previous_response_id</code>) and legacy completions at <code>${base}/completions</code>.</li>
</ul>

<h2>From Anthropic, Claude Code or Codex</h2>
<p>Anthropic SDKs and Claude Code work unchanged against <code>POST ${base}/messages</code> (with
<code>count_tokens</code>, streaming, tools and Anthropic’s error envelope): set <code>ANTHROPIC_BASE_URL</code> to
<code>${config.publicUrl}</code> and <code>ANTHROPIC_API_KEY</code> to your <code>sk-simo-…</code> key. The Codex CLI
uses a custom provider with <code>wire_api = "responses"</code> and <code>base_url = "${base}"</code>; the
<a href="/docs#other-apis">docs</a> show the exact configuration.</p>
<p><a class="button" href="/register">Get a key</a> <a class="button secondary" href="/docs">Read the docs</a></p>
</article>`;
  return layout(ctx, {
    title: 'Migrate from OpenAI, Mistral or Hugging Face',
    description: `Move from OpenAI, Mistral or Hugging Face Inference to ${config.brand.name}: base URL, key and model ids side by side.`,
    body,
  });
}
