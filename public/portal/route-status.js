// Operator route status: reads /operator/routes with the operator token and redraws the table every few
// seconds. The token stays in this script's memory, not in web storage, where any script on the portal's
// origin could read the platform's admin credential; a reload asks for it again.
(() => {
  const REFRESH_MS = 3000;
  const form = document.getElementById('operator-token-form');
  const input = document.getElementById('operator-token');
  const table = document.getElementById('route-status-table');
  const message = document.getElementById('route-status-message');
  if (!form || !table || !message) return;
  const body = table.querySelector('tbody');
  let timer;
  let token = '';

  const cell = (row, text, testid) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (testid) td.dataset.testid = testid;
    row.appendChild(td);
    return td;
  };

  const render = (routes) => {
    body.replaceChildren();
    for (const r of routes) {
      const row = document.createElement('tr');
      row.dataset.route = r.id;
      cell(row, r.id, 'route');
      cell(row, r.models.join(', '), 'models');
      const breaker = cell(row, r.breaker ?? 'none', 'breaker');
      breaker.className = `breaker breaker-${r.breaker ?? 'none'}`;
      cell(row, r.latency_ms === null ? '–' : `${Math.round(r.latency_ms)} ms`, 'latency');
      cell(row, `${(r.error_rate * 100).toFixed(1)} %`, 'error-rate');
      cell(row, String(r.outstanding), 'outstanding');
      cell(row, String(r.attempts), 'attempts');
      cell(row, String(r.failures), 'failures');
      body.appendChild(row);
    }
    table.hidden = false;
    message.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  };

  const askForToken = (why) => {
    clearTimeout(timer);
    token = '';
    table.hidden = true;
    form.hidden = false;
    message.textContent = why;
  };

  const load = async () => {
    if (!token) return askForToken('Enter the operator token (SIMO_ADMIN_TOKEN).');
    try {
      const res = await fetch('/operator/routes', { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 401) return askForToken('Incorrect operator token.');
      if (!res.ok) {
        const err = await res.json().catch(() => null);
        message.textContent = err?.error?.message ?? `The server answered ${res.status}.`;
      } else {
        form.hidden = true;
        render((await res.json()).data);
      }
    } catch {
      message.textContent = 'The server is unreachable; retrying.';
    }
    timer = setTimeout(load, REFRESH_MS);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    token = input.value;
    input.value = '';
    load();
  });
  load();
})();
