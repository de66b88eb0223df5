// The notebook end to end in headless Chromium: classify samples, open the notebook, type a
// metric-name prefix and read the completions (from the page's own metrics), run the seed's
// query and see one series per label drawn, switch the panel to stat, gauge, bar gauge,
// table and heatmap, change the time range, point the cell at the server's data source,
// check that a bad query's error stays in its cell, and that markup in a legend renders as
// text with no script running. Prints one JSON object; the Rust test judges it.
// Usage: node notebook.mjs URL SHOTS_DIR
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, shots, promUrl, vmUrl] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'lookout-notebook-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { steps: [] };
const step = (s) => out.steps.push(s);
try {
  const page = await ctx.newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(url);
  for (const s of ['0001_ship.jpg', '0000_cat.jpg', '0003_airplane.jpg', '0002_ship.jpg']) {
    await page.click(`button.sample[data-name="${s}"]`);
    await page.waitForFunction((n) => document.querySelector('.meta')?.textContent.startsWith(n), s,
      { timeout: 60000 });
  }
  step('classified');
  // Two scrapes (every 2 s) after the predictions, so rate() over 1m has two samples.
  await page.waitForTimeout(4500);
  await page.click('button.sample[data-name="0000_cat.jpg"]');
  await page.waitForTimeout(2500);

  await page.click('#tab-notebook');
  await page.waitForSelector('#cell-1 .cm-content', { timeout: 60000 });
  step('notebook open');
  const cell = '#cell-1';
  const editor = `${cell} .cm-content`;

  // Completions from the page's own metrics.
  await page.click(editor);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('predic');
  await page.waitForSelector('.cm-tooltip-autocomplete', { timeout: 10000 });
  out.completions = await page.$$eval('.cm-tooltip-autocomplete .cm-completionLabel',
    (els) => els.map((e) => e.textContent));
  await page.screenshot({ path: join(shots, 'notebook-completion.png') });
  await page.keyboard.press('Escape');
  step('completions');

  // The seed's query: one series per label.
  await page.keyboard.press('Control+A');
  await page.keyboard.type('sum by (label) (rate(prediction_value_total[1m]))');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction((c) => {
    const rows = document.querySelectorAll(`${c} .u-legend .u-series`);
    return rows.length >= 3;
  }, cell, { timeout: 20000 });
  out.legend = await page.$$eval(`${cell} .u-legend .u-series .u-label`, (els) => els.map((e) => e.textContent));
  out.canvas = await page.$$eval(`${cell} .chart.timeseries canvas`, (els) => els.length);
  await page.screenshot({ path: join(shots, 'notebook-timeseries.png'), fullPage: true });
  step('time series');

  // The other panel types.
  const kind = async (k, selector) => {
    await page.selectOption(`${cell} select.kind`, k);
    await page.waitForSelector(`${cell} ${selector}`, { timeout: 20000 });
    return page.$$eval(`${cell} ${selector}`, (els) => els.map((e) => e.textContent));
  };
  out.stat = await kind('stat', '.stat');
  out.gauge = await kind('gauge', '.gauge');
  out.bargauge = await kind('bargauge', '.bar-gauge');
  out.table = await kind('table', 'table.result-table tbody tr');
  out.table_head = await page.$$eval(`${cell} table.result-table th`, (els) => els.map((e) => e.textContent));
  await page.screenshot({ path: join(shots, 'notebook-table.png'), fullPage: true });
  step('stat gauge bargauge table');

  // Heatmap over the inference-time histogram.
  await page.selectOption(`${cell} select.kind`, 'heatmap');
  await page.click(editor);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('sum by (le) (rate(inference_time_bucket[1m]))');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  await page.waitForSelector(`${cell} .chart.heatmap canvas`, { timeout: 20000 });
  out.heatmap_problem = await page.textContent(`${cell} .panel .error`).catch(() => '');
  await page.screenshot({ path: join(shots, 'notebook-heatmap.png'), fullPage: true });
  step('heatmap');

  // Time range: a preset, then the cells run again over it.
  await page.selectOption('#time-preset', { label: 'Last 5 minutes' });
  out.time_from = await page.inputValue('#time-from');
  step('time range');

  // A bad query stays in its cell; the other cell keeps its chart.
  await page.click('#cell-2 .cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('sum(rate(');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  await page.waitForSelector('#cell-2 .cell-error', { timeout: 20000 });
  out.bad_query_error = await page.textContent('#cell-2 .cell-error');
  out.cell1_still_drawn = await page.$$eval(`${cell} .chart.heatmap canvas`, (els) => els.length);
  step('bad query');

  // Markup in a legend renders as text, no script runs.
  await page.selectOption(`${cell} select.kind`, 'timeseries');
  await page.click(editor);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('sum by (label) (prediction_value_total)');
  await page.keyboard.press('Escape');
  await page.fill(`${cell} input.legend`, '<img src=x onerror=alert(1)>{{label}}');
  await page.press(`${cell} input.legend`, 'Enter');
  await page.dispatchEvent(`${cell} input.legend`, 'change');
  await page.waitForFunction((c) => [...document.querySelectorAll(`${c} .u-legend .u-label`)]
    .some((e) => e.textContent.includes('<img')), cell, { timeout: 20000 });
  await page.selectOption(`${cell} select.kind`, 'table');
  await page.waitForSelector(`${cell} table.result-table`, { timeout: 20000 });
  await page.selectOption(`${cell} select.kind`, 'stat');
  await page.waitForSelector(`${cell} .stat`, { timeout: 20000 });
  out.markup_as_text = await page.$$eval(`${cell} .stat-name`, (els) => els.map((e) => e.textContent));
  out.img_elements = await page.$$eval('#notebook img', (els) => els.length);
  step('markup');

  // The server's data source: its own store, fed from the Pushgateway the page pushes to.
  await page.selectOption(`${cell} select.kind`, 'timeseries');
  await page.selectOption(`${cell} select.source`, 'server');
  await page.fill(`${cell} input.legend`, '{{label}}');
  await page.dispatchEvent(`${cell} input.legend`, 'change');
  let serverLegend = [];
  for (let i = 0; i < 20 && serverLegend.length === 0; i++) {
    await page.click(`${cell} button.run`);
    await page.waitForTimeout(1000);
    serverLegend = await page.$$eval(`${cell} .u-legend .u-series .u-label`, (els) => els.map((e) => e.textContent));
  }
  out.server_legend = serverLegend;
  out.server_errors = await page.$$eval(`${cell} .cell-error`, (els) => els.map((e) => e.textContent));
  await page.screenshot({ path: join(shots, 'notebook-server.png'), fullPage: true });
  step('server source');

  // Remote Prometheus-compatible APIs, called by the browser directly (CORS).
  out.remotes = {};
  for (const [name, remote] of [['prometheus', promUrl], ['victoriametrics', vmUrl]]) {
    if (!remote) continue;
    await page.selectOption(`${cell} select.source`, 'remote');
    await page.fill(`${cell} input.remote-url`, remote);
    await page.dispatchEvent(`${cell} input.remote-url`, 'change');
    let legend = [];
    for (let i = 0; i < 30 && legend.length < 2; i++) {
      await page.click(`${cell} button.run`);
      await page.waitForTimeout(1000);
      legend = await page.$$eval(`${cell} .u-legend .u-series .u-label`, (els) => els.map((e) => e.textContent));
    }
    out.remotes[name] = {
      legend,
      footer: await page.textContent(`${cell} .cell-footer`),
      errors: await page.$$eval(`${cell} .cell-error`, (els) => els.map((e) => e.textContent)),
    };
    await page.screenshot({ path: join(shots, `notebook-${name}.png`), fullPage: true });
  }
  step('remote sources');

  out.dialogs = dialogs;
  out.page_errors = errors;
} catch (e) {
  out.failure = String(e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
