// Shared progressive enhancement for every portal page: copy buttons, confirmations, the JSON API
// helper (session cookie + CSRF header) and the "secret shown once" panel. No framework, no build step.
(() => {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.getAttribute('content') : null;

  /** Calls a JSON API of this origin with the session cookie and CSRF header; throws Error(message). */
  async function api(method, path, body) {
    const headers = { accept: 'application/json' };
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const message = data?.error?.message ? data.error.message : `Request failed (${res.status})`;
      const err = new Error(message);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Clipboard API may be unavailable (http origins, permissions): select the text instead.
      return false;
    }
  }

  function flashLabel(button, label) {
    const original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = label;
    setTimeout(() => {
      button.textContent = original;
    }, 1500);
  }

  // The button sits in a strip above the code (not over it) and outside the horizontal scroller, so
  // it never covers a line and stays put while a long line is scrolled.
  function addCopyButtons(root) {
    for (const pre of root.querySelectorAll('pre.code, .prose pre')) {
      if (pre.parentElement.classList.contains('code-block')) continue;
      const block = document.createElement('div');
      block.className = 'code-block';
      pre.replaceWith(block);
      block.appendChild(pre);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'copy-button';
      button.textContent = 'Copy';
      button.setAttribute('aria-label', 'Copy code');
      button.addEventListener('click', async () => {
        const code = pre.querySelector('code');
        const ok = await copyText((code || pre).textContent);
        flashLabel(button, ok ? 'Copied' : 'Press Ctrl+C');
      });
      block.appendChild(button);
    }
  }

  function selectContents(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener('click', async (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const copy = target.closest('[data-copy-target]');
    if (copy) {
      const source = document.getElementById(copy.getAttribute('data-copy-target'));
      if (source) {
        const ok = await copyText(source.textContent);
        if (!ok) selectContents(source);
        flashLabel(copy, ok ? 'Copied' : 'Press Ctrl+C');
      }
    }
  });

  // Forms/buttons marked data-confirm ask before acting (rotate, revoke, delete).
  document.addEventListener(
    'submit',
    (event) => {
      const form = event.target;
      const message = form instanceof HTMLFormElement ? form.getAttribute('data-confirm') : null;
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  /** Shows a secret (API key, webhook secret) once, in the page's secret panel. */
  function showSecret(panelId, value, title) {
    const panel = document.getElementById(panelId);
    if (!panel) return;
    const code = panel.querySelector('code');
    const heading = panel.querySelector('h2');
    if (heading && title) heading.textContent = title;
    code.textContent = value;
    panel.hidden = false;
    panel.scrollIntoView({ block: 'nearest' });
    const focusTarget = panel.querySelector('button');
    if (focusTarget) focusTarget.focus();
  }

  /** Hides a secret panel and forgets the value: it was shown once. */
  function dismissSecret(panelId) {
    const panel = document.getElementById(panelId);
    if (!panel) return;
    panel.hidden = true;
    panel.querySelector('code').textContent = '';
  }

  /**
   * Re-reads this page from the server and swaps in its fresh copy of one region (a list), leaving
   * the rest of the page (an open secret panel, a status message) as it is. Rows stay server-rendered.
   */
  async function refreshRegion(id) {
    const res = await fetch(window.location.href, {
      credentials: 'same-origin',
      headers: { accept: 'text/html' },
    });
    if (!res.ok) throw new Error(`The list could not be refreshed (${res.status}). Reload the page.`);
    const fresh = new DOMParser().parseFromString(await res.text(), 'text/html').getElementById(id);
    const current = document.getElementById(id);
    if (fresh && current) current.replaceWith(document.adoptNode(fresh));
  }

  /** `1 request`, `2 requests`. */
  const plural = (n, one, many) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many || `${one}s`}`;

  /** Puts a message in a live region so screen readers announce it. */
  function announce(id, message, kind) {
    const region = document.getElementById(id);
    if (!region) return;
    region.className = `alert ${kind || 'info'}`;
    region.textContent = message;
    region.hidden = false;
  }

  /** Wires a form that posts JSON through `api`, with busy state and error display. */
  function jsonForm(form, handler) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      try {
        await handler(new FormData(form));
      } catch (err) {
        announce(form.getAttribute('data-status') || 'status', err.message, 'error');
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  addCopyButtons(document);
  window.SIMO = {
    api,
    showSecret,
    dismissSecret,
    refreshRegion,
    announce,
    jsonForm,
    copyText,
    plural,
    csrfToken,
  };
})();
