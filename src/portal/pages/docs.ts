import { Marked } from 'marked';
import { docsContextFrom, docsSections, docsTagline } from '../../discovery/docs-content.js';
import { escapeHtml, html, type SafeHtml, trustedHtml } from '../html.js';
import { layout, type PortalContext } from '../layout.js';

// Raw HTML inside the markdown is shown as text: the docs embed operator-configured values (brand,
// URLs), and nothing in them should become markup.
const markdown = new Marked({
  gfm: true,
  renderer: {
    html: ({ text }) => escapeHtml(text),
  },
});

/** Markdown of our own documentation to HTML (raw HTML escaped, see above). */
export const renderMarkdown = (source: string): SafeHtml =>
  trustedHtml(markdown.parse(source, { async: false }));

/**
 * `GET /docs`: the developer portal, rendered from the same sections as `/llms.txt` and
 * `/llms-full.txt`, so the page, the agent-facing files and the examples never drift apart.
 */
export function docsPage(ctx: PortalContext): SafeHtml {
  const d = docsContextFrom(ctx.config);
  const sections = docsSections(d);
  const body = html`<div class="docs">
<nav class="docs-toc" aria-label="On this page">
  <ol>${sections.map((s) => html`<li><a href="#${s.id}">${s.title}</a></li>`)}</ol>
</nav>
<article class="prose">
  <h1>Developer documentation</h1>
  <p class="lead">${docsTagline(d)}</p>
  <p class="muted">Also as <a href="/llms.txt">llms.txt</a>, <a href="/llms-full.txt">llms-full.txt</a> and
  <a href="/openapi.json">OpenAPI 3.1</a>. Moving from another provider? See <a href="/compare">the migration guide</a>.</p>
  ${sections.map(
    (s) => html`<section id="${s.id}" aria-labelledby="${s.id}-title">
    <h2 id="${s.id}-title">${s.title}</h2>
    ${renderMarkdown(s.markdown)}
  </section>`,
  )}
</article>
</div>`;
  return layout(ctx, {
    title: 'Docs',
    description: `Developer documentation of ${ctx.config.brand.name}: quickstart, authentication, SDKs, streaming, rate limits, errors, webhooks and agent discovery.`,
    body,
  });
}
