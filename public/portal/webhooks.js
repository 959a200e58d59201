// Webhooks pages: add an endpoint (secret shown once), send a test event, redeliver, delete; via
// /admin/webhooks. Lists are re-read from the server after every change instead of reloading the page.
(() => {
  const { api, showSecret, dismissSecret, refreshRegion, announce, jsonForm } = window.SIMO;
  const onDetailPage = window.location.pathname.startsWith('/dashboard/webhooks/');
  // The delivery log fills in once the dispatcher has sent the event.
  const refreshLogSoon = () => setTimeout(() => refreshRegion('deliveries-list').catch(() => {}), 1500);

  const createForm = document.getElementById('create-webhook-form');
  if (createForm) {
    jsonForm(createForm, async (data) => {
      const events = data.getAll('events').map(String);
      if (events.length === 0) throw new Error('Choose at least one event.');
      const description = String(data.get('description') || '').trim();
      const body = await api('POST', '/admin/webhooks', {
        url: String(data.get('url') || '').trim(),
        events,
        ...(description ? { description } : {}),
      });
      showSecret('webhook-secret-panel', body.secret, 'Signing secret for your new endpoint');
      createForm.reset();
      await refreshRegion('webhooks-list');
      announce('status', 'Endpoint added. Send it a test event from the list below.', 'ok');
    });
  }

  // Delegated: rows are replaced when a list is refreshed.
  document.addEventListener('submit', async (event) => {
    const form = event.target instanceof Element ? event.target.closest('form[data-webhook-action]') : null;
    if (!form) return;
    event.preventDefault();
    const id = encodeURIComponent(form.getAttribute('data-webhook-id'));
    const action = form.getAttribute('data-webhook-action');
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      if (action === 'test') {
        await api('POST', `/admin/webhooks/${id}/test`);
        announce('status', 'Test event queued. It appears in the delivery log once sent.', 'ok');
        if (onDetailPage) refreshLogSoon();
      } else if (action === 'redeliver') {
        const delivery = encodeURIComponent(form.getAttribute('data-delivery-id'));
        await api('POST', `/admin/webhooks/${id}/deliveries/${delivery}/redeliver`);
        announce('status', 'Delivery queued again.', 'ok');
        refreshLogSoon();
      } else if (action === 'delete') {
        await api('DELETE', `/admin/webhooks/${id}`);
        announce('status', 'Endpoint deleted.', 'ok');
        await refreshRegion('webhooks-list');
      }
    } catch (err) {
      announce('status', err.message, 'error');
    } finally {
      button.disabled = false;
    }
  });

  const done = document.getElementById('webhook-secret-done');
  if (done) done.addEventListener('click', () => dismissSecret('webhook-secret-panel'));
})();
