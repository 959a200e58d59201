// Playground: posts an OpenAI chat request with "stream": true and renders the SSE deltas as they arrive.
(() => {
  const form = document.getElementById('playground-form');
  if (!form) return;
  const { announce, csrfToken, plural } = window.SIMO;
  const output = document.getElementById('pg-output');
  const usageLine = document.getElementById('pg-usage');
  const stopButton = document.getElementById('pg-stop');
  const sendButton = document.getElementById('pg-send');
  const statusBox = document.getElementById('pg-status');
  let controller = null;

  function requestBody(data) {
    const messages = [];
    const system = String(data.get('system') || '').trim();
    if (system) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: String(data.get('prompt') || '') });
    const body = {
      model: String(data.get('model')),
      messages,
      stream: true,
      stream_options: { include_usage: true },
    };
    const max = Number(data.get('max_completion_tokens'));
    if (Number.isInteger(max) && max > 0) body.max_completion_tokens = max;
    const temperature = Number(data.get('temperature'));
    if (data.get('temperature') !== '' && Number.isFinite(temperature)) body.temperature = temperature;
    return body;
  }

  /** Handles one SSE `data:` payload; returns false at [DONE]. */
  function onEvent(payload) {
    if (payload === '[DONE]') return false;
    const chunk = JSON.parse(payload);
    if (chunk.error) throw new Error(chunk.error.message || 'The model failed while answering.');
    for (const choice of chunk.choices || []) {
      const text = choice.delta?.content;
      if (text) output.textContent += text;
    }
    if (chunk.usage) {
      const u = chunk.usage;
      usageLine.textContent = `${plural(u.prompt_tokens, 'prompt token')} + ${plural(u.completion_tokens, 'completion token')}`;
    }
    return true;
  }

  async function readStream(res) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = event
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data && !onEvent(data)) return;
        boundary = buffer.indexOf('\n\n');
      }
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    output.textContent = '';
    usageLine.textContent = '';
    statusBox.hidden = true;
    controller = new AbortController();
    sendButton.disabled = true;
    stopButton.disabled = false;
    output.setAttribute('aria-busy', 'true');
    try {
      const res = await fetch(form.getAttribute('data-endpoint'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'x-csrf-token': csrfToken,
        },
        body: JSON.stringify(requestBody(new FormData(form))),
        signal: controller.signal,
      });
      if (!res.ok) {
        let message = `Request failed (${res.status})`;
        try {
          const body = await res.json();
          if (body.error?.message) message = body.error.message;
        } catch {}
        throw new Error(message);
      }
      const remaining = res.headers.get('x-ratelimit-remaining');
      const started = performance.now();
      await readStream(res);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const limit = remaining === null ? '' : ` · ${plural(Number(remaining), 'request')} left this minute`;
      usageLine.textContent = `${usageLine.textContent || 'Done'} · ${seconds} s${limit}`;
      form.setAttribute('data-done', 'true');
    } catch (err) {
      if (err.name !== 'AbortError') announce('pg-status', err.message, 'error');
    } finally {
      output.setAttribute('aria-busy', 'false');
      sendButton.disabled = false;
      stopButton.disabled = true;
      controller = null;
    }
  });

  stopButton.addEventListener('click', () => {
    if (controller) controller.abort();
  });
})();
