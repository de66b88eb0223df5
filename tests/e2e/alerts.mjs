// Alerts in the page, in headless Chromium against `lookout serve --data-dir --backfill` with
// a webhook channel (the Rust test's receiver): a sample is classified (the page's own
// metrics); the dashboard "e2e-alerts" (a panel over the server's backfilled probe, 10) gets
// an alert through the panel editor: an invalid duration shows the rule's error, the
// server's channel is chosen, "Test rule" shows the trace; the server evaluates it: Pending
// then Alerting on the panel header, the threshold drawn, the rule in the alert list with its
// history; the threshold raised: OK. Then a dashboard over the page's own metrics opened
// from a shared link (unsaved) is evaluated in the tab. Markup in the rule's name and
// message stays text. Prints one JSON object.
// Usage: node alerts.mjs URL SHOTS_DIR SHARED_LINK
import { join } from 'node:path';
import { T, launch, readServerRow, setValue } from './alerting.mjs';

const [url, shots, link] = process.argv.slice(2);
const ctx = await launch('lookout-alerts-');
const out = { steps: [] };
const step = (s) => out.steps.push(s);
const XSS = '<img src=x onerror="window.__pwned=1">';
const errors = [];
const dialogs = [];
const openEditor = async (page) => {
  await page.click('#panel-1 .dash-panel-menu');
  await page.click('#panel-1 .menu-edit');
  await page.waitForSelector('#alert-editor', T);
};
const headerIs = (page, state, timeout = 30000) => page.waitForSelector(
  `#panel-1 .dash-panel-alert[data-state="${state}"]`, { timeout });

let page;
try {
  page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(url);
  await page.click('button.sample[data-name="0001_ship.jpg"]');
  await page.waitForFunction(() => document.querySelector('.meta')?.textContent.startsWith('0001_ship.jpg'),
    null, { timeout: 60000 });
  step('classified');

  // The dashboard the test put on the server.
  await page.click('#tab-notebook');
  await page.click('#view-dashboards', T);
  await page.waitForSelector('#dashboard, #dash-list', { timeout: 60000 });
  if (await page.$('#dash-back')) await page.click('#dash-back');
  await page.click('#dash-list .dash-item[data-uid="e2e-alerts"] .dash-open', T);
  await page.waitForSelector('#dashboard[data-uid="e2e-alerts"] #panel-1', T);
  step('opened');

  // The editor: a new alert, an invalid value, the server's channel, the test.
  await openEditor(page);
  await page.click('#alert-create');
  await page.waitForSelector('#alert-editor .alert-frequency', T);
  await setValue(page, '#alert-editor .alert-frequency', 'soon');
  await page.waitForFunction(() => document.querySelector('#alert-error')?.textContent !== '', null, T);
  out.invalid_error = await page.textContent('#alert-error');
  await setValue(page, '#alert-editor .alert-frequency', '1s');
  await page.waitForFunction(() => document.querySelector('#alert-error')?.textContent === '', null, T);
  await setValue(page, '#alert-editor .alert-param0', '1000');
  await setValue(page, '#alert-editor .alert-for', '2s');
  await setValue(page, '#alert-editor .alert-name', `${XSS} probe`);
  await setValue(page, '#alert-editor .alert-message', `${XSS} fired`);
  await page.waitForSelector('#alert-editor .alert-channel', T);
  out.channels = await page.$$eval('#alert-editor .alert-channel', (els) => els.map((e) => e.dataset.uid));
  await page.check('#alert-editor .alert-channel[data-uid="hook"] input');
  await page.waitForFunction(() => document.querySelector('#alert-editor .alert-channel-uids')?.value === 'hook', null, T);
  // From here the header's states are sampled.
  await page.evaluate(() => {
    window.__states = [];
    setInterval(() => {
      const s = document.querySelector('#panel-1 .dash-panel-alert')?.dataset.state;
      if (s && window.__states[window.__states.length - 1] !== s) window.__states.push(s);
    }, 100);
  });
  await setValue(page, '#alert-editor .alert-param0', '5');
  await page.click('#alert-test');
  await page.waitForSelector('#alert-test-result', T);
  out.test_state = await page.$eval('#alert-test-result', (e) => e.dataset.state);
  out.test_evals = await page.textContent('#alert-test-result .alert-test-evals');
  out.test_series = await page.$$eval('#alert-test-result .alert-test-series td:first-child', (els) => els.map((e) => e.textContent));
  await page.screenshot({ path: join(shots, 'alerts-editor.png'), fullPage: true });
  await page.click('#dash-editor-close');
  step('editor');

  // The server evaluates it: Pending, then Alerting.
  await headerIs(page, 'alerting');
  // The sampler polls every 100 ms: read its list once it has seen Alerting too.
  await page.waitForFunction(() => window.__states[window.__states.length - 1] === 'alerting', null, T)
    .catch(() => {});
  out.header_states = await page.evaluate(() => window.__states);
  out.alerts_by = await page.textContent('#dash-alerts-by');
  await page.waitForFunction(() => document.querySelector('#panel-1 .lk-ts')?.dataset.alertThresholds === '5', null, T)
    .catch(() => {});
  out.threshold_drawn = await page.$eval('#panel-1 .lk-ts', (e) => e.dataset.alertThresholds ?? '').catch(() => '');
  await page.screenshot({ path: join(shots, 'alerts-panel.png'), fullPage: true });
  step('alerting');

  // The alert list.
  const listed = await readServerRow(page, 'e2e-alerts/1', 'alerting', join(shots, 'alerts-list.png'));
  const row = listed.row;
  out.list_state = listed.state;
  out.list_name = listed.name;
  out.list_history = listed.history;
  out.img_elements_list = await page.$$eval('img[src="x"]', (els) => els.length);
  out.pwned_list = await page.evaluate(() => typeof window.__pwned);
  step('list');

  // The threshold raised: OK.
  await page.click(`${row} .alert-open`);
  await page.waitForSelector('#dashboard[data-uid="e2e-alerts"] #panel-1', T);
  await openEditor(page);
  await setValue(page, '#alert-editor .alert-param0', '20');
  await page.click('#dash-editor-close');
  await headerIs(page, 'ok');
  out.resolved_state = 'ok';
  step('resolved');

  // A shared copy over the page's own metrics: evaluated in this tab.
  await page.goto(link);
  await page.waitForSelector('#dashboard[data-unsaved="true"] #panel-1', { timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('#dash-alerts-by')?.textContent !== '', null, T);
  out.local_by = await page.textContent('#dash-alerts-by');
  await headerIs(page, 'alerting');
  out.local_state = 'alerting';
  await page.click('#view-alerts');
  await page.waitForSelector('.alert-row[data-by="this tab"]', T);
  out.local_list_by = await page.$eval('.alert-row[data-by="this tab"]', (e) => e.dataset.by);
  step('local');

  out.img_elements = await page.$$eval('img[src="x"]', (els) => els.length);
  out.pwned = await page.evaluate(() => typeof window.__pwned);
} catch (e) {
  out.failure = String(e && e.stack || e);
  if (page) await page.screenshot({ path: join(shots, 'alerts-failure.png'), fullPage: true }).catch(() => {});
}
out.dialogs = dialogs;
out.page_errors = errors;
await ctx.close();
console.log(JSON.stringify(out));
