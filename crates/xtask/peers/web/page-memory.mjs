// The page under a long run of its own traffic (the live view's "Traffic" at its highest
// rate, restarted whenever it finishes), memory sampled every 30 s: the JS heap
// (performance.memory, precise) as the collector left it and again right after a forced
// full collection (CDP HeapProfiler.collectGarbage: the live objects, without the swing of
// when V8 last collected), the wasm module's linear memory, and the renderers' proportional
// resident memory (PSS, /proc). Prints one JSON object with the samples.
// Usage: node page-memory.mjs URL MINUTES
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, minutes] = [process.argv[2], Number(process.argv[3] ?? 30)];
const profile = mkdtempSync(join(tmpdir(), 'lookout-page-memory-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--enable-precise-memory-info', '--disable-features=SpareRendererForSitePerProcess'],
});

/** Proportional resident bytes (PSS) of this browser's renderer processes (the page's, and
 *  headless Chromium's own UI renderer): the
 *  processes below the browser started here (found by its own profile folder), not any other
 *  Chromium on the machine. */
function rendererPss() {
  const procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const read = (pid, f) => { try { return readFileSync(`/proc/${pid}/${f}`, 'utf8'); } catch { return ''; } };
  const parent = new Map(procs.map((pid) => [pid, (/PPid:\s+(\d+)/.exec(read(pid, 'status')) ?? [])[1]]));
  const roots = new Set(procs.filter((pid) => read(pid, 'cmdline').includes(profile)));
  const mine = (pid) => {
    for (let p = pid, n = 0; p && n < 64; p = parent.get(p), n++) if (roots.has(p)) return true;
    return false;
  };
  let total = 0;
  for (const pid of procs) {
    if (!read(pid, 'cmdline').includes('--type=renderer') || !mine(pid)) continue;
    // Proportional set size: shared pages counted once across Chromium's processes.
    const m = /^Pss:\s+(\d+) kB/m.exec(read(pid, 'smaps_rollup'));
    if (m) total += Number(m[1]) * 1024;
  }
  return total;
}

const out = { samples: [] };
try {
  // The persistent context's own first tab: no second renderer for an empty one.
  const page = browser.pages()[0] ?? await browser.newPage();
  // Trunk's loader announces the module's exports (its memory among them).
  await page.addInitScript(() => {
    addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail.wasm; });
  });
  await page.goto(url);
  await page.waitForFunction(() => window.__wasm && document.querySelector('#traffic'), null, { timeout: 60000 });
  const cdp = await browser.newCDPSession(page);
  const inputs = page.locator('section input[type=number]');
  await inputs.nth(0).fill('500');
  await inputs.nth(1).fill('100000');
  const started = Date.now();
  const end = started + minutes * 60000;
  let nextSample = started;
  while (Date.now() < end) {
    // Keep the traffic running: a finished run is started again.
    const running = await page.evaluate(() => (document.querySelector('#progress')?.nextElementSibling?.textContent ?? '').endsWith('…'));
    if (!running) await page.click('#traffic');
    if (Date.now() >= nextSample) {
      const s = await page.evaluate(() => ({
        js_heap: performance.memory.usedJSHeapSize,
        wasm: window.__wasm.memory.buffer.byteLength,
        predictions: Number(document.querySelector('#total')?.textContent ?? 'NaN'),
      }));
      await cdp.send('HeapProfiler.collectGarbage');
      s.js_heap_live = await page.evaluate(() => performance.memory.usedJSHeapSize);
      s.minute = (Date.now() - started) / 60000;
      s.renderer_pss = rendererPss();
      out.samples.push(s);
      console.error(`page: ${s.minute.toFixed(1)} min, ${s.predictions} predictions, JS heap ${(s.js_heap / 1e6).toFixed(1)} MB (live ${(s.js_heap_live / 1e6).toFixed(1)} MB), wasm ${(s.wasm / 1e6).toFixed(1)} MB, renderer PSS ${(s.renderer_pss / 1e6).toFixed(1)} MB`);
      nextSample += 30000;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
} catch (e) {
  out.failure = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
