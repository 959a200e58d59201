import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterTally, HistogramTally } from './metric-tally.js';

describe('metric tallies', () => {
  it('expose exactly what prom-client Counter and Histogram would', async () => {
    const reference = new Registry();
    const tallied = new Registry();
    const histogram = { name: 'x_seconds', help: 'h', buckets: [0.001, 0.01, 0.1, 1] };
    const counter = { name: 'y_total', help: 'c' };
    const h1 = new Histogram({ ...histogram, labelNames: ['route', 'method'], registers: [reference] });
    const c1 = new Counter({ ...counter, labelNames: ['route', 'status'], registers: [reference] });
    const h2 = new HistogramTally({ ...histogram, labelNames: ['route', 'method'], registers: [tallied] });
    const c2 = new CounterTally({ ...counter, labelNames: ['route', 'status'], registers: [tallied] });
    for (const v of [0.0005, 0.001, 0.002, 0.05, 0.5, 3]) {
      h1.observe({ route: '/a"b', method: 'POST' }, v);
      h2.observe({ route: '/a"b', method: 'POST' }, v);
    }
    h1.observe({ route: '/c', method: 'GET' }, 0.02);
    h2.observe({ route: '/c', method: 'GET' }, 0.02);
    for (let i = 0; i < 3; i++) {
      c1.inc({ route: '/a', status: '200' });
      c2.inc({ route: '/a', status: '200' });
    }
    c1.inc({ route: '/b', status: '500' }, 2.5);
    c2.inc({ route: '/b', status: '500' }, 2.5);
    expect(await tallied.metrics()).toBe(await reference.metrics());
    // Collected twice: nothing is added twice.
    expect(await tallied.metrics()).toBe(await reference.metrics());
  });
});
