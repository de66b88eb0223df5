// `cargo xtask notebook-bench`: query → panel drawn in the page's notebook, one cell, the
// same queries against Lookout's engine (the server's /api/v1: "This server") and against
// Prometheus 2.42 (its HTTP API called by the page: "Prometheus URL"). The cell's footer
// carries data-query-ms (the run's start → answers shaped) and data-drawn-ms (→ the frame
// after the panel was drawn) and data-runs (completed draws). Prints one JSON object.
// Usage: node notebook-bench.mjs PAGE_URL PROMETHEUS_URL FROM_MS TO_MS RUNS
// (NOTEBOOK_BENCH_PROFILE=FILE also writes a CPU profile, see below.)
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [url, promUrl, from, to, runsArg] = process.argv.slice(2);
const runs = Number(runsArg) || 10;
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'nb-bench-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  const page = await ctx.newPage();
  await page.goto(url);
  await page.click('#tab-notebook');
  await page.waitForSelector('#cell-1 .cm-content', { timeout: 60000 });
  // One cell only, over the generated hours.
  await page.click('#cell-2 .remove-cell');
  await page.fill('#time-from', from);
  await page.dispatchEvent('#time-from', 'change');
  await page.fill('#time-to', to);
  await page.dispatchEvent('#time-to', 'change');
  const cell = '#cell-1';
  const footer = `${cell} .cell-footer`;
  const setQuery = async (q, maxPoints) => {
    await page.click(`${cell} .cm-content`);
    await page.keyboard.press('Control+A');
    await page.keyboard.type(q);
    await page.keyboard.press('Escape');
    await page.fill(`${cell} input.max-points`, maxPoints);
    await page.dispatchEvent(`${cell} input.max-points`, 'change');
  };
  const measure = async () => {
    const q = [], d = [];
    for (let i = 0; i < runs + 1; i++) {
      const before = await page.getAttribute(footer, 'data-runs');
      await page.click(`${cell} button.run`);
      await page.waitForFunction(([f, b]) => {
        const e = document.querySelector(f);
        return e && e.dataset.runs !== b && e.dataset.drawnMs !== '';
      }, [footer, before], { timeout: 120000 });
      if (i === 0) continue; // warm-up
      q.push(Number(await page.getAttribute(footer, 'data-query-ms')));
      d.push(Number(await page.getAttribute(footer, 'data-drawn-ms')));
    }
    const errors = await page.$$eval(`${cell} .cell-error`, (els) => els.map((e) => e.textContent));
    if (errors.length) throw new Error(`cell errors: ${errors.join('; ')}`);
    return { query_ms: q, drawn_ms: d, shape: await page.textContent(footer) };
  };
  for (const [name, select, remote] of [['lookout', 'server', null], ['prometheus', 'remote', promUrl]]) {
    await page.selectOption(`${cell} select.source`, select);
    if (remote) {
      await page.fill(`${cell} input.remote-url`, remote);
      await page.dispatchEvent(`${cell} input.remote-url`, 'change');
    }
    out[name] = {};
    await setQuery('sum by (label) (rate(prediction_value_total[1m]))', '');
    out[name].seed = await measure();
    await setQuery('bench_gauge', '360');
    // NOTEBOOK_BENCH_PROFILE=FILE: Chromium's CPU profile of the 1,000-series runs against
    // Lookout, for DevTools' Performance panel (where the drawing's milliseconds go).
    const profile = name === 'lookout' ? process.env.NOTEBOOK_BENCH_PROFILE : undefined;
    const cdp = profile ? await ctx.newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    out[name].wide = await measure();
    if (cdp) writeFileSync(profile, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    await page.screenshot({ path: join(tmpdir(), `notebook-bench-${name}.png`), fullPage: true });
  }
} catch (e) {
  out.failure = String(e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
