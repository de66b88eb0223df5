// Checks the built bundle (dist/notebook.js) in headless Chromium through test/page.html.
// Usage (after `bash build.sh` and `npm ci` in tests/e2e):
//   node test/browser.mjs [SCREENSHOT.png]
// playwright-core comes from tests/e2e; Chromium is Debian's /usr/bin/chromium (or $CHROMIUM).
// Serves web/notebook/ on 127.0.0.1 itself. Prints one line per check, exits 1 on a failure.
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveNotebook } from './serve.mjs';

const require = createRequire(new URL('../../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const shot = process.argv[2] || join(tmpdir(), 'lookout-notebook.png');

const { server, base } = await serveNotebook();
const url = `${base}/test/page.html`;

const results = [];
const check = (name, ok, detail = '') => {
  results.push(ok);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
};

const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'lookout-nb-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 900, height: 1200 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await ctx.newPage();
const pageErrors = [];
const dialogs = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
const log = () => page.evaluate(() => window.__log);
const waitLog = (pred, timeout = 5000) =>
  page.waitForFunction(`window.__log.some(${pred})`, null, { timeout }).then(() => true, () => false);

try {
  await page.goto(url);
  await page.waitForFunction(() => window.__ok !== undefined, null, { timeout: 20000 });
  check('page created every widget', await page.evaluate(() => window.__ok === true),
    JSON.stringify((await log()).filter((e) => e[0] === 'exception' || e[0] === 'error')));

  // --- editor: metric-name completion from the fake client
  const content = page.locator('#editor .cm-content');
  await content.click();
  await page.keyboard.type('lookout_pre', { delay: 30 });
  const opts = await page.waitForSelector('.cm-tooltip-autocomplete', { timeout: 5000 }).then(
    () => page.$$eval('.cm-tooltip-autocomplete li', (ls) => ls.map((l) => l.textContent)), () => []);
  await page.screenshot({ path: shot.replace(/(\.png)?$/, '-editor.png'), clip: { x: 0, y: 0, width: 900, height: 260 } });
  check('metric completions from client', opts.some((o) => o.includes('lookout_predictions_total')), JSON.stringify(opts.slice(0, 6)));
  check('metricNames got the prefix', (await log()).some((e) => e[0] === 'metricNames' && e[1] === 'lookout_pre'));
  check('metadata shown as detail', opts.some((o) => o.includes('lookout_predictions_total') && o.includes('counter')));
  check('onChange called', (await log()).some((e) => e[0] === 'change' && e[1] === 'lookout_pre'));
  await page.waitForTimeout(200); // CodeMirror ignores Enter just after the list opens
  await page.keyboard.press('Enter'); // accept
  check('completion applied', (await page.evaluate(() => window.__editor.getDoc())).startsWith('lookout_predict'));

  // --- matchers reach the client with string operators
  await page.evaluate(() => window.__editor.setDoc('lookout_predictions_total'));
  await content.click();
  await page.keyboard.press('End');
  await page.keyboard.type('{job="x", class!="y", le=~"z.*", env!~"q", backend="', { delay: 15 });
  await page.keyboard.press('Control+Space');
  const gotLv = await waitLog('(e) => e[0] === "labelValues" && e[1] === "backend"');
  const lv = (await log()).filter((e) => e[0] === 'labelValues' && e[1] === 'backend').pop();
  const want = [
    { name: 'job', type: '=', value: 'x' }, { name: 'class', type: '!=', value: 'y' },
    { name: 'le', type: '=~', value: 'z.*' }, { name: 'env', type: '!~', value: 'q' }];
  check('labelValues matchers translated', gotLv && lv[2] === 'lookout_predictions_total' && JSON.stringify(lv[3]) === JSON.stringify(want),
    JSON.stringify(lv));
  const lvOpts = await page.$$eval('.cm-tooltip-autocomplete li', (ls) => ls.map((l) => l.textContent)).catch(() => []);
  check('label value completions', lvOpts.some((o) => o.includes('wgpu')), JSON.stringify(lvOpts));
  await page.keyboard.press('Escape');

  // --- lint error for `sum(`
  await page.evaluate(() => window.__editor.setDoc('sum('));
  const lint = await page.waitForSelector('#editor .cm-lintRange-error, #editor .cm-lintPoint-error', { timeout: 5000 }).then(() => true, () => false);
  check('lint error shown for sum(', lint);
  check('setDoc does not call onChange', !(await log()).some((e) => e[0] === 'change' && e[1] === 'sum('));

  // --- engine error via setError, cleared on the next edit
  await page.evaluate(() => window.__editor.setDoc('rate(up[5m])'));
  await page.waitForFunction(() => !document.querySelector('#editor .cm-lintRange-error'), null, { timeout: 5000 }).catch(() => {});
  await page.evaluate(() => window.__editor.setError(5, 7, 'engine: <b>not</b> a range vector'));
  const engineErr = await page.waitForSelector('#editor .cm-lintRange-error', { timeout: 3000 }).then(() => true, () => false);
  const marked = await page.$eval('#editor .cm-lintRange-error', (e) => e.textContent).catch(() => '');
  check('setError marks the range', engineErr && marked === 'up', JSON.stringify(marked));
  await page.hover('#editor .cm-lintRange-error');
  const tipText = await page.waitForSelector('.cm-tooltip-lint', { timeout: 3000 }).then(
    () => page.$eval('.cm-tooltip-lint', (e) => ({ text: e.textContent, bold: e.querySelectorAll('b').length })), () => null);
  check('error message shown as text', tipText && tipText.text.includes('<b>not</b>') && tipText.bold === 0, JSON.stringify(tipText));
  await content.click();
  await page.keyboard.press('End');
  await page.keyboard.type(' ');
  const cleared = await page.waitForFunction(() => !document.querySelector('#editor .cm-lintRange-error'), null, { timeout: 3000 }).then(() => true, () => false);
  check('engine error cleared by an edit', cleared);
  await page.evaluate(() => { window.__editor.setError(100, -5, 'clamped'); });
  check('setError clamps offsets', await page.waitForSelector('#editor .cm-lintRange-error', { timeout: 3000 }).then(() => true, () => false));
  await page.evaluate(() => window.__editor.clearError());
  check('clearError', await page.waitForFunction(() => !document.querySelector('#editor .cm-lintRange-error'), null, { timeout: 3000 }).then(() => true, () => false));

  // --- Shift+Enter / Ctrl+Enter run
  await content.click();
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.press('Control+Enter');
  const runs = (await log()).filter((e) => e[0] === 'run');
  check('Shift+Enter and Ctrl+Enter call onRun', runs.length === 2 && runs[0][1] === 'rate(up[5m]) ', JSON.stringify(runs));
  check('run keys do not insert newlines', (await page.evaluate(() => window.__editor.getDoc())) === 'rate(up[5m]) ');

  // --- history completions in an empty editor
  await page.evaluate(() => window.__editor.setDoc(''));
  await content.click();
  await page.keyboard.press('ArrowUp');
  const hist = await page.waitForSelector('.cm-tooltip-autocomplete', { timeout: 3000 }).then(
    () => page.$$eval('.cm-tooltip-autocomplete li', (ls) => ls.map((l) => l.textContent)), () => []);
  check('history offered in empty editor', hist.length === 2 && hist.every((h) => h.includes('history')), JSON.stringify(hist));
  await page.waitForTimeout(200);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  check('history entry applied', (await page.evaluate(() => window.__editor.getDoc())) === 'sum by (backend) (rate(lookout_predictions_total[1m]))');
  await page.evaluate(() => window.__editor.setDoc(''));
  await content.click();
  await page.keyboard.type('rate(look', { delay: 20 });
  const hist2 = await page.waitForSelector('.cm-tooltip-autocomplete', { timeout: 3000 }).then(
    () => page.$$eval('.cm-tooltip-autocomplete li', (ls) => ls.map((l) => l.textContent)), () => []);
  check('history prefix match while typing', hist2.some((h) => h.startsWith('rate(lookout_predictions_total[5m])')), JSON.stringify(hist2.slice(0, 4)));
  await page.keyboard.press('Escape');

  // --- chart: drawn, hostile label as text, no script ran
  const chart = await page.$eval('#chart', (c) => ({
    canvases: c.querySelectorAll('canvas').length,
    imgs: c.querySelectorAll('img, script').length,
    labels: Array.from(c.querySelectorAll('.u-legend .u-label')).map((l) => l.textContent),
  }));
  check('chart drawn with legend', chart.canvases >= 1 && chart.labels.length === 4, JSON.stringify(chart.labels));
  check('hostile label rendered as text', chart.labels.includes('<img src=x onerror=alert(1)>') && chart.imgs === 0);
  const painted = await page.$eval('#chart canvas', (cv) => {
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  check('chart canvas has pixels', painted > 1000, `${painted} painted`);

  // --- tooltip with values, hostile label as text
  const over = await page.$eval('#chart .u-over', (o) => { const r = o.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  await page.mouse.move(over.x + over.w * (45 / 59), over.y + over.h * 0.5);
  const tip = await page.waitForSelector('#chart .lk-tip:not([hidden])', { timeout: 3000 }).then(
    () => page.$eval('#chart .lk-tip', (t) => ({ text: t.textContent, rows: t.querySelectorAll('.lk-tip-row').length, imgs: t.querySelectorAll('img').length })), () => null);
  check('tooltip shows values', tip && tip.rows === 3 && tip.text.includes('req/s'), JSON.stringify(tip));
  check('tooltip label is text', tip && tip.text.includes('<img src=x onerror=alert(1)>') && tip.imgs === 0);
  // annotation at point 30 of 60 (x scale spans the data, so at the middle)
  await page.mouse.move(over.x + over.w * (30 / 59), over.y + over.h * 0.3);
  const ann = await page.$eval('#chart .lk-tip', (t) => ({ text: t.textContent, scripts: t.querySelectorAll('script').length }));
  check('annotation text in tooltip', ann.text.includes('alert <script>alert(2)</script> firing') && ann.scripts === 0, JSON.stringify(ann.text));
  // gap: series 1 is null at points 20..25
  await page.mouse.move(over.x + over.w * (22 / 59), over.y + over.h * 0.5);
  const gapTip = await page.$eval('#chart .lk-tip', (t) => Array.from(t.querySelectorAll('.lk-tip-label')).map((l) => l.textContent));
  check('gap has no tooltip value', !gapTip.includes('cpu {job="a"}') && gapTip.length === 2, JSON.stringify(gapTip));

  await page.screenshot({ path: shot, fullPage: true });

  // --- drag to zoom
  await page.mouse.move(over.x + over.w * 0.3, over.y + over.h * 0.5);
  await page.mouse.down();
  await page.mouse.move(over.x + over.w * 0.45, over.y + over.h * 0.5, { steps: 5 });
  await page.mouse.move(over.x + over.w * 0.6, over.y + over.h * 0.5, { steps: 5 });
  await page.mouse.up();
  const zoom = (await log()).filter((e) => e[0] === 'zoom').pop();
  const t0 = 1700000000 * 1000;
  const t1 = (1700000000 + 59 * 15) * 1000;
  check('drag-zoom calls onZoom(fromMs, toMs)', zoom && zoom[1] > t0 && zoom[2] < t1 && zoom[1] < zoom[2]
    && Math.abs((zoom[2] - zoom[1]) / (t1 - t0) - 0.3) < 0.03, JSON.stringify(zoom));

  // --- stacked: tooltip values are each series' own value
  const sover = await page.$eval('#stacked .u-over', (o) => { const r = o.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  await page.mouse.move(sover.x + sover.w * (10 / 59), sover.y + sover.h * 0.5);
  const stip = await page.$eval('#stacked .lk-tip', (t) => Array.from(t.querySelectorAll('.lk-tip-row')).map((r) => [r.children[1].textContent, r.children[2].textContent]));
  const expected = [0, 1, 2].map((k) => String(parseFloat((10 + 5 * Math.sin(10 / 6 + k) + k * 3).toPrecision(6))));
  check('stacked tooltip shows unstacked values', stip.length === 3 && expected.every((v) => stip.some((r) => r[1] === v)), JSON.stringify({ stip, expected }));
  // legend toggle restacks without errors
  await page.click('#stacked .u-legend .u-series:nth-child(2) .u-label');
  check('legend click hides a series', await page.$eval('#stacked .u-legend .u-series:nth-child(2)', (s) => s.classList.contains('u-off')));
  await page.click('#stacked .u-legend .u-series:nth-child(2) .u-label');

  // --- heatmap tooltip
  const hm = await page.$eval('#heatmap canvas', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  await page.mouse.move(hm.x + hm.w * 0.5, hm.y + hm.h * 0.5);
  const htip = await page.$eval('#heatmap .lk-tip', (t) => (t.hidden ? null : t.textContent));
  check('heatmap tooltip with bucket and count', !!htip && /bucket \(.*, .*\]/.test(htip) && htip.includes('count'), JSON.stringify(htip));
  await page.mouse.move(0, 0);

  // --- setData / setSize keep working
  const ok = await page.evaluate(() => {
    window.__chart.setData([1, 2, 3], [{ label: 'x', values: [1, null, 3] }]);
    window.__chart.setData([], []);
    window.__chart.setSize(500, 200);
    window.__heatmap.setData([], [], []);
    window.__spark.setData([1, 2], [1, NaN]);
    window.__chart.setData([1700000000, 1700000015], [{ label: 'a', values: [1, 2] }, { label: 'b', values: [3] }]);
    return document.querySelectorAll('#chart .u-legend .u-label').length;
  });
  check('setData with new series rebuilds the legend', ok === 3, String(ok));

  // --- the lean line builder against uPlot's own, pixel for pixel; typed arrays (the fast
  // path without a copy) against plain arrays, lines and stacked
  const diffs = await page.evaluate(async () => {
    const nb = await import('../dist/notebook.js');
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const times = new Float64Array(120).map((_, i) => 1700000000 + 60 * i);
    const walks = Array.from({ length: 40 }, () => {
      let v = rnd() * 100;
      return new Float64Array(120).map(() => (v += rnd() * 4 - 2));
    });
    const draw = async (opts) => {
      const div = document.createElement('div');
      document.body.appendChild(div);
      const h = nb.createTimeSeries(div, { width: 600, height: 240, times, legend: false, ...opts });
      await frame();
      await frame();
      const cv = div.querySelector('canvas');
      const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      h.destroy();
      div.remove();
      return px;
    };
    // Pixels whose colour differs by more than `tol` in a channel (-1: different sizes).
    const differing = (a, b, tol = 0) => {
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        if (Math.abs(a[i] - b[i]) > tol) {
          n++;
          i += 3 - (i % 4);
        }
      }
      return a.length === b.length ? n : -1;
    };
    const typed = walks.map((values, i) => ({ label: `s${i}`, values }));
    const plain = walks.map((values, i) => ({ label: `s${i}`, values: Array.from(values) }));
    const gappy = walks.slice(0, 5).map((w, i) => ({
      label: `g${i}`,
      values: Array.from(w, (v, k) => (k >= 30 + i * 7 && k < 40 + i * 7 ? (k % 2 ? null : NaN) : v)),
    }));
    const gappyLean = await draw({ series: gappy });
    const gappyUplot = await draw({ series: gappy, lineBuilder: 'uplot' });
    const blank = await draw({ series: [] });
    const lean = await draw({ series: typed });
    return {
      painted: differing(blank, lean),
      lines: differing(lean, await draw({ series: typed, lineBuilder: 'uplot' })),
      plain: differing(lean, await draw({ series: plain })),
      gaps: [0, 16, 64, 128].map((tol) => differing(gappyLean, gappyUplot, tol)),
      stacked: differing(await draw({ series: typed, stacked: true }), await draw({ series: plain, stacked: true })),
    };
  });
  check('lean line builder: the same pixels as uPlot\'s', diffs.painted > 5000 && diffs.lines === 0, JSON.stringify(diffs));
  check('typed arrays drawn as plain arrays (lines, stacked)', diffs.plain === 0 && diffs.stacked === 0, JSON.stringify(diffs));
  // With gaps, uPlot strokes across them under a clip; the lean builder lifts the pen. The
  // clip changes anti-aliasing by a shade here and there (2,038 pixels by ≤ 16 of 255 when
  // written), never a line drawn or missing.
  check('gaps: lean builder lifts the pen where uPlot clips', diffs.gaps[0] >= 0 && diffs.gaps[1] <= 40 && diffs.gaps[2] === 0, JSON.stringify(diffs));

  check('no page errors', pageErrors.length === 0, JSON.stringify(pageErrors));
  check('no alert ran', dialogs.length === 0 && (await page.evaluate(() => window.__alerts)) === 0, JSON.stringify(dialogs));
  console.log(`screenshots: ${shot}, ${shot.replace(/(\.png)?$/, '-editor.png')}`);
} catch (e) {
  check('browser run', false, String(e && e.stack || e));
} finally {
  await ctx.close();
  server.close();
}
process.exit(results.every(Boolean) ? 0 : 1);
