// API keys page: create, rotate (with confirmation) and revoke through /admin/keys; a new key is shown once.
(() => {
  const { api, showSecret, announce, jsonForm } = window.SIMO;
  const secretOf = (body) => (body && (body.api_key || body.key)) || '';

  /** Shows a row's key as revoked at once (the list is re-read when the secret panel is closed). */
  function markRevoked(row) {
    if (!row) return;
    const badge = row.querySelector('.badge');
    if (badge) {
      badge.textContent = 'revoked';
      badge.className = 'badge bad';
    }
    for (const f of row.querySelectorAll('form[data-key-action]')) f.remove();
  }

  const createForm = document.getElementById('create-key-form');
  if (createForm) {
    jsonForm(createForm, async (data) => {
      const name = String(data.get('name') || '').trim();
      const body = await api('POST', '/admin/keys', name ? { name } : {});
      showSecret('new-key-panel', secretOf(body), 'Your new API key');
      createForm.reset();
    });
  }

  for (const form of document.querySelectorAll('form[data-key-action]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const keyId = form.getAttribute('data-key-id');
      const action = form.getAttribute('data-key-action');
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        if (action === 'rotate') {
          const body = await api('POST', '/admin/keys/rotate', { key_id: keyId });
          showSecret('new-key-panel', secretOf(body), 'Your rotated API key');
          announce('status', 'Key rotated. The old key no longer works.', 'ok');
          markRevoked(form.closest('tr'));
        } else {
          await api('DELETE', `/admin/keys/${encodeURIComponent(keyId)}`);
          announce('status', 'Key revoked.', 'ok');
          window.location.reload();
        }
      } catch (err) {
        announce('status', err.message, 'error');
      } finally {
        button.disabled = false;
      }
    });
  }

  const done = document.getElementById('new-key-done');
  if (done) done.addEventListener('click', () => window.location.reload());
})();
