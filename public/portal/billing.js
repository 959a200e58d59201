// Credits page: buying credits (Stripe Checkout), saving a card and setting auto top-up, through
// /admin/billing/*. Payment happens on Stripe's page; the credits arrive by Stripe's webhook.
(() => {
  const { api, announce, jsonForm } = window.SIMO;

  const topUp = document.getElementById('topup-form');
  if (topUp) {
    // A typed amount wins over the preset buttons.
    const custom = topUp.querySelector('input[name="amount"]');
    custom.addEventListener('input', () => {
      for (const radio of topUp.querySelectorAll('input[name="preset"]')) radio.checked = false;
    });
    jsonForm(topUp, async (data) => {
      const amount = String(data.get('amount') || '').trim() || String(data.get('preset') || '');
      if (!amount) throw new Error('Choose an amount.');
      const body = await api('POST', '/admin/billing/checkout', { amount });
      window.location.assign(body.url);
    });
  }

  const saveCard = document.getElementById('save-card-form');
  if (saveCard) {
    jsonForm(saveCard, async () => {
      const body = await api('POST', '/admin/billing/auto-topup/card');
      window.location.assign(body.url);
    });
  }

  const auto = document.getElementById('auto-topup-form');
  if (auto) {
    jsonForm(auto, async (data) => {
      const body = await api('PUT', '/admin/billing/auto-topup', {
        enabled: data.get('enabled') === 'on',
        threshold: String(data.get('threshold') || ''),
        amount: String(data.get('amount') || ''),
      });
      announce(
        'status',
        body.enabled
          ? `Auto top-up is on: below $${Number(body.threshold).toFixed(2)}, $${Number(body.amount).toFixed(2)} is added.`
          : 'Auto top-up is off.',
        'ok',
      );
    });
  }
})();
