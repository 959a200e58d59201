// API keys page: create, rotate (with confirmation) and revoke through /admin/keys; a new key is shown
// once. The list is re-read from the server after every change, so new and revoked keys show at once.
(() => {
  const { api, showSecret, dismissSecret, refreshRegion, announce, jsonForm } = window.SIMO;
  const LIST = 'keys-list';

  const createForm = document.getElementById('create-key-form');
  if (createForm) {
    jsonForm(createForm, async (data) => {
      const name = String(data.get('name') || '').trim();
      const body = await api('POST', '/admin/keys', name ? { name } : {});
      showSecret('new-key-panel', body.api_key, 'Your new API key');
      createForm.reset();
      await refreshRegion(LIST);
    });
  }

  // Delegated: rows are replaced when the list is refreshed.
  document.addEventListener('submit', async (event) => {
    const form = event.target instanceof Element ? event.target.closest('form[data-key-action]') : null;
    if (!form) return;
    event.preventDefault();
    const keyId = form.getAttribute('data-key-id');
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      if (form.getAttribute('data-key-action') === 'rotate') {
        const body = await api('POST', '/admin/keys/rotate', { key_id: keyId });
        showSecret('new-key-panel', body.api_key, 'Your rotated API key');
        announce('status', 'Key rotated. The old key no longer works.', 'ok');
      } else {
        await api('DELETE', `/admin/keys/${encodeURIComponent(keyId)}`);
        announce('status', 'Key revoked.', 'ok');
      }
      await refreshRegion(LIST);
    } catch (err) {
      announce('status', err.message, 'error');
    } finally {
      button.disabled = false;
    }
  });

  const done = document.getElementById('new-key-done');
  if (done) done.addEventListener('click', () => dismissSecret('new-key-panel'));
})();
