// Usage charts (uPlot, served locally): requests, tokens and cost per day, and tokens per model.
(() => {
  const root = document.getElementById('usage-charts');
  if (!root || typeof window.uPlot !== 'function') return;
  const uPlot = window.uPlot;
  const series = JSON.parse(root.getAttribute('data-series') || '{}');
  const byModel = JSON.parse(root.getAttribute('data-by-model') || '{}');
  const accent = '#3b3bd6';

  const widthOf = (el) => Math.max(280, Math.floor(el.getBoundingClientRect().width || 600));
  const plots = [];

  // Distinct, AA-contrast colours for up to eight models; more cycle.
  const palette = ['#3b3bd6', '#b3261e', '#1b6e3a', '#8a4b00', '#6a1b9a', '#00695c', '#ad1457', '#37474f'];
  const lines = series.models || [];

  // Counts (requests, tokens) step by whole numbers, so small totals get the ticks 0, 1, 2 instead
  // of 0, 0.2, 0.4… that would print as 0, 0, 0, 1, 1.
  const wholeSteps = [];
  for (let decade = 1; decade <= 1e12; decade *= 10) wholeSteps.push(decade, 2 * decade, 5 * decade);
  const countAxis = () => ({
    incrs: wholeSteps,
    values: (_u, ticks) => ticks.map((t) => Math.round(t).toLocaleString('en-US')),
    size: 70,
  });
  // Money steps by whole micro-dollars (its unit) and shows as many decimals as the step needs, at
  // least cents, so no two ticks read alike.
  const moneyAxis = {
    incrs: wholeSteps.map((s) => s / 1e6),
    values: (_u, ticks, _axis, _space, step) => {
      const decimals = Math.min(6, Math.max(2, Math.ceil(-Math.log10(step))));
      return ticks.map((t) => `$${t.toFixed(decimals)}`);
    },
    size: 96,
  };

  function daily(el, key, format, yAxis) {
    const opts = {
      width: widthOf(el),
      height: 220,
      series: [
        {},
        ...lines.map((line, i) => ({
          label: line.model,
          stroke: palette[i % palette.length],
          width: 2,
          points: { show: true, size: 5 },
          value: (_u, v) => (v == null ? '—' : format(v)),
        })),
      ],
      axes: [{}, yAxis],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      // Days are UTC days (as the API counts them), whatever the viewer's time zone.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false } },
    };
    const data = [series.days, ...lines.map((line) => line[key])];
    plots.push([el, new uPlot(opts, data, el)]);
  }

  function perModel(el) {
    const names = byModel.models || [];
    if (names.length === 0) return;
    const xs = names.map((_n, i) => i);
    const opts = {
      width: widthOf(el),
      height: 220,
      series: [
        { label: 'Model', value: (_u, i) => names[i] ?? '' },
        {
          label: 'Tokens',
          stroke: accent,
          fill: 'rgba(59,59,214,0.55)',
          paths: uPlot.paths.bars({ size: [0.5, 80] }),
          points: { show: false },
        },
      ],
      axes: [
        {
          splits: () => xs,
          values: (_u, ticks) => ticks.map((t) => names[t] ?? ''),
          gap: 6,
          grid: { show: false },
        },
        countAxis(),
      ],
      scales: {
        x: { time: false, range: () => [-0.5, names.length - 0.5] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      cursor: { drag: { x: false, y: false } },
    };
    plots.push([el, new uPlot(opts, [xs, byModel.tokens], el)]);
  }

  const int = (v) => Math.round(v).toLocaleString('en-US');
  const money = (v) => `$${Number(v).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 6 : 2)}`;
  for (const el of root.querySelectorAll('[data-chart]')) {
    const kind = el.getAttribute('data-chart');
    if (kind === 'requests') daily(el, 'requests', int, countAxis());
    else if (kind === 'tokens') daily(el, 'tokens', int, countAxis());
    else if (kind === 'cost') daily(el, 'cost', money, moneyAxis);
  }
  const modelChart = document.querySelector('[data-chart="models"]');
  if (modelChart) perModel(modelChart);
  root.setAttribute('data-rendered', String(plots.length));

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [el, plot] of plots) plot.setSize({ width: widthOf(el), height: 220 });
    }, 150);
  });
})();
