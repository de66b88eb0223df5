// `cargo xtask dashboard-bench`: a 100-panel dashboard opened → every panel drawn, in headless
// Chromium, with Lookout's engine behind the panels (the dashboard's data source: this
// server) and with Prometheus 2.42 behind the same panels (a remote URL, CORS); and the time
// from an edit to "saved" (IndexedDB, then the server) in the page.
// Usage: node dashboard-bench.mjs URL RUNS UID...   Prints one JSON object.
import { chromium } from 'playwright-core';

const [url, runsArg, ...uids] = process.argv.slice(2);
const runs = +runsArg || 5;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
const T = { timeout: 120000 };
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(url);
  await page.click('#tab-notebook');
  await page.click('#view-dashboards', T);
  // The first visit opens the seed's dashboard; go to the list and wait for the server's.
  await page.waitForSelector('#dashboard', T);
  await page.click('#dash-back');
  for (const uid of uids) {
    await page.waitForSelector(`#dash-list .dash-item[data-uid="${uid}"]`, T);
  }
  for (const uid of uids) {
    out[uid] = { open_to_drawn_ms: [] };
    for (let i = 0; i < runs; i++) {
      const t0 = await page.evaluate(() => performance.now());
      await page.click(`#dash-list .dash-item[data-uid="${uid}"] .dash-open`);
      await page.waitForFunction(() => {
        const panels = document.querySelectorAll('#dashboard .dash-panel');
        const drawn = document.querySelectorAll('#dashboard .dash-panel .chart.timeseries canvas');
        return panels.length === 100 && drawn.length >= 100
          && !document.querySelector('#dashboard .dash-panel-running');
      }, null, T);
      const t1 = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now())))));
      out[uid].open_to_drawn_ms.push(t1 - t0);
      out[uid].errors = await page.$$eval('#dashboard .cell-error', (els) => els.length);
      await page.click('#dash-back');
      await page.waitForSelector('#dash-list', T);
    }
  }
  // Edit → saved (the 150 ms of quiet that batches keystrokes included).
  out.save_ms = [];
  await page.click(`#dash-list .dash-item[data-uid="${uids[0]}"] .dash-open`);
  await page.waitForFunction(() => document.querySelector('#dashboard .save-state')?.dataset.state === 'saved', null, T);
  for (let i = 0; i < runs; i++) {
    const v0 = await page.$eval('#dashboard .save-state', (e) => +e.dataset.version);
    const t0 = await page.evaluate(() => performance.now());
    await page.fill('#dash-title', `Bench ${i}`);
    await page.dispatchEvent('#dash-title', 'change');
    await page.waitForFunction((v) => {
      const e = document.querySelector('#dashboard .save-state');
      return e && e.dataset.state === 'saved' && +e.dataset.version > v;
    }, v0, T);
    out.save_ms.push((await page.evaluate(() => performance.now())) - t0);
  }
} catch (e) {
  out.failure = String(e && e.stack || e);
}
await browser.close();
console.log(JSON.stringify(out));
