// Webhooks page: add an endpoint (secret shown once), send a test event, delete; via /admin/webhooks.
(() => {
  const { api, showSecret, announce, jsonForm } = window.SIMO;

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
      showSecret('webhook-secret-panel', body.secret || '', 'Signing secret for your new endpoint');
      announce('status', 'Endpoint added. Send it a test event from the list below.', 'ok');
      createForm.reset();
    });
  }

  for (const form of document.querySelectorAll('form[data-webhook-action]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const id = form.getAttribute('data-webhook-id');
      const action = form.getAttribute('data-webhook-action');
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        if (action === 'test') {
          await api('POST', `/admin/webhooks/${encodeURIComponent(id)}/test`);
          announce('status', 'Test event queued. It appears in the delivery log once sent.', 'ok');
          if (window.location.pathname.startsWith('/dashboard/webhooks/'))
            setTimeout(() => window.location.reload(), 1500);
        } else if (action === 'redeliver') {
          const delivery = form.getAttribute('data-delivery-id');
          await api(
            'POST',
            `/admin/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(delivery)}/redeliver`,
          );
          announce('status', 'Delivery queued again.', 'ok');
          setTimeout(() => window.location.reload(), 1500);
        } else if (action === 'delete') {
          await api('DELETE', `/admin/webhooks/${encodeURIComponent(id)}`);
          window.location.reload();
        }
      } catch (err) {
        announce('status', err.message, 'error');
      } finally {
        button.disabled = false;
      }
    });
  }

  const done = document.getElementById('webhook-secret-done');
  if (done) done.addEventListener('click', () => window.location.reload());
})();
