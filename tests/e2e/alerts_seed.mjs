// The seed's alert, as the issue tells it, in headless Chromium against `lookout serve
// --pushgateway` (a real Pushgateway, scraped by the server every second) with a webhook
// channel (the Rust test's receiver). On the seed's dashboard ("Model server"), the panel "P90
// Model Inference Time" gets the seed's alert through the panel editor — max() of the last
// 15 s of the P90 above 0.2 ms, evaluated every second, pending for 3 s, no data → OK (the
// test's short intervals; the panel's query reads a 10 s rate window) — and the server
// evaluates it. The page's own traffic (Classify → Traffic → Run) is pushed to the
// Pushgateway: Pending, then Alerting on the panel and in the alert list. Traffic stopped: the
// P90 has no samples, the rule goes back to OK. Prints one JSON object.
// Usage: node alerts_seed.mjs URL SHOTS_DIR
import { join } from 'node:path';
import { T, launch, readServerRow, setValue } from './alerting.mjs';

const [url, shots] = process.argv.slice(2);
const ctx = await launch('lookout-alerts-seed-');
const out = { steps: [] };
const step = (s) => out.steps.push(s);
const errors = [];
const P90 = '#panel-5';
const headerIs = (page, state, timeout) => page.waitForSelector(
  `${P90} .dash-panel-alert[data-state="${state}"]`, { timeout });

let page;
try {
  page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('#traffic', { timeout: 60000 });

  // The seed's dashboard, kept by the server.
  await page.click('#tab-notebook');
  await page.click('#view-dashboards', T);
  await page.waitForSelector('#dashboard, #dash-list', { timeout: 60000 });
  if (await page.$('#dash-back')) await page.click('#dash-back');
  await page.click('#dash-list .dash-item[data-uid="lookout-seed"] .dash-open', T);
  await page.waitForSelector(`#dashboard[data-uid="lookout-seed"] ${P90}`, T);
  out.panel_title = await page.textContent(`${P90} .dash-panel-title`);
  step('opened');

  // The panel's query over a short rate window, and the seed's alert.
  await page.click(`${P90} .dash-panel-menu`);
  await page.click(`${P90} .menu-edit`);
  await page.waitForSelector('#dash-editor .cm-content', T);
  out.query_before = await page.textContent('#dash-editor .cm-content');
  await page.click('#dash-editor .cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('histogram_quantile(0.9, sum by (job, le) (rate(inference_time_bucket[10s])))');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  // Its thresholds drawn as lines and regions (the other panels keep Grafana's default: none).
  await page.click('#dash-editor details.options summary');
  await page.selectOption('#dash-editor select.thresholds-style', 'line+area');
  await page.dispatchEvent('#dash-editor select.thresholds-style', 'change');
  await page.waitForSelector('#alert-editor', T);
  await page.click('#alert-create');
  await page.waitForSelector('#alert-editor .alert-frequency', T);
  await setValue(page, '#alert-editor .alert-name', 'P90 inference time above 0.2 ms');
  await setValue(page, '#alert-editor .alert-frequency', '1s');
  await setValue(page, '#alert-editor .alert-for', '3s');
  await page.selectOption('#alert-editor .alert-reducer', 'max');
  await page.dispatchEvent('#alert-editor .alert-reducer', 'change');
  await setValue(page, '#alert-editor .alert-from', '15s');
  await page.selectOption('#alert-editor .alert-evaluator', 'gt');
  await page.dispatchEvent('#alert-editor .alert-evaluator', 'change');
  await setValue(page, '#alert-editor .alert-param0', '0.0002');
  await page.selectOption('#alert-editor .alert-nodata', 'ok');
  await page.dispatchEvent('#alert-editor .alert-nodata', 'change');
  await page.waitForSelector('#alert-editor .alert-channel[data-uid="hook"]', T);
  await page.check('#alert-editor .alert-channel[data-uid="hook"] input');
  await page.waitForFunction(() => document.querySelector('#alert-editor .alert-channel-uids')?.value === 'hook', null, T);
  out.editor_error = await page.textContent('#alert-error');
  await page.screenshot({ path: join(shots, 'seed-alert-editor.png'), fullPage: true });
  await page.click('#dash-editor-close');
  // Saved to the server and evaluated there; no traffic yet: OK.
  await page.waitForFunction(() => (document.querySelector('#dash-alerts-by')?.textContent || '').includes('server'), null, T);
  out.alerts_by = await page.textContent('#dash-alerts-by');
  await headerIs(page, 'ok', 30000);
  step('rule');

  // From here the header's states are sampled.
  await page.evaluate((sel) => {
    window.__states = [];
    setInterval(() => {
      const s = document.querySelector(`${sel} .dash-panel-alert`)?.dataset.state;
      if (s && window.__states[window.__states.length - 1] !== s) window.__states.push(s);
    }, 100);
  }, P90);

  // Traffic from the page: 20 predictions a second.
  await page.click('#tab-classify');
  const inputs = 'section.live input[type=number]';
  await page.fill(`${inputs} >> nth=0`, '20');
  await page.fill(`${inputs} >> nth=1`, '100000');
  await page.click('#traffic');
  out.traffic_started = Date.now();
  await page.click('#tab-notebook');
  await headerIs(page, 'alerting', 90000);
  out.alerting_after_ms = Date.now() - out.traffic_started;
  await page.screenshot({ path: join(shots, 'seed-alert-alerting.png'), fullPage: true });
  step('alerting');

  // The alert list.
  const listed = await readServerRow(page, 'lookout-seed/5', 'alerting', join(shots, 'seed-alert-list.png'));
  const row = listed.row;
  out.list_state = listed.state;
  out.list_name = listed.name;
  out.list_history = listed.history;
  await page.click(`${row} .alert-open`);
  await page.waitForSelector(`#dashboard[data-uid="lookout-seed"] ${P90}`, T);
  step('list');

  // Traffic stopped: resolved.
  await page.click('#tab-classify');
  await page.click('#stop');
  out.traffic_stopped = Date.now();
  out.predictions = await page.textContent('#total');
  await page.click('#tab-notebook');
  await headerIs(page, 'ok', 120000);
  out.ok_after_ms = Date.now() - out.traffic_stopped;
  // The sampler runs every 100 ms: let it see the OK the header shows now.
  await page.waitForFunction(() => window.__states[window.__states.length - 1] === 'ok', null, T);
  out.header_states = await page.evaluate(() => window.__states);
  // Every time series panel drawn (the P90 one has data now).
  await page.waitForFunction(() => document.querySelectorAll('#dashboard .lk-ts').length >= 3, null, { timeout: 30000 });
  out.thresholds_drawn = await page.$$eval('#dashboard .dash-panel', (els) => Object.fromEntries(
    els.filter((e) => e.querySelector('.lk-ts'))
      .map((e) => [e.id, e.querySelector('.lk-ts').dataset.thresholdsDrawn])));
  await page.screenshot({ path: join(shots, 'seed-alert-resolved.png'), fullPage: true });
  step('resolved');
} catch (e) {
  out.failure = String(e && e.stack || e);
  if (page) {
    out.header_states = await page.evaluate(() => window.__states).catch(() => null);
    await page.screenshot({ path: join(shots, 'seed-alert-failure.png'), fullPage: true }).catch(() => {});
  }
}
out.page_errors = errors;
await ctx.close();
console.log(JSON.stringify(out));
