// The page end to end in headless Chromium (with SwiftShader's WebGPU adapter): load,
// classify a gallery sample on wasm CPU at once, refuse bad files with a readable message
// and keep working, classify on WebGPU once its module is up, back on CPU (on the
// relaxed-SIMD module loaded meanwhile), and wait until
// the page's metrics were pushed through the server's proxy. Prints one JSON object; the Rust test judges it.
// Usage: node page.mjs URL SCREENSHOT.png BOMB.png
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, shot, bomb] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'lookout-e2e-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--enable-unsafe-webgpu'],
});
const out = {};
try {
  const page = await ctx.newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const t0 = Date.now();
  await page.goto(url);
  await page.click('button.sample[data-name="0001_ship.jpg"]');
  await page.waitForSelector('#label', { timeout: 60000 });
  out.first_prediction_ms = Date.now() - t0;
  out.label = await page.textContent('#label');
  out.backend = await page.textContent('#backend');

  const errorFor = async (name, mimeType, buffer) => {
    await page.setInputFiles('#file', { name, mimeType, buffer });
    await page.waitForFunction((n) => document.querySelector('#error').textContent.includes(n), name);
    return page.textContent('#error');
  };
  out.error_text = await errorFor('notes.txt', 'text/plain', Buffer.from('not an image at all'));
  const jpeg = readFileSync(new URL('../../crates/model/samples/0003_airplane.jpg', import.meta.url));
  out.error_truncated = await errorFor('broken.jpg', 'image/jpeg', jpeg.subarray(0, jpeg.length / 2));
  out.error_bomb = await errorFor('bomb.png', 'image/png', readFileSync(bomb));

  // WebGPU: the page found the adapter. A hardware one loads the module in the background;
  // SwiftShader is a software fallback, so the page stays on CPU until WebGPU is chosen.
  await page.waitForFunction(() => /ready on|failed|software adapter/.test(document.querySelector('#gpu-status').textContent),
    null, { timeout: 180000 });
  out.gpu_found = await page.textContent('#gpu-status');
  out.backend_while_found = await page.textContent('#backend');
  await page.click('#use-webgpu');
  await page.waitForFunction(() => /ready on|failed/.test(document.querySelector('#gpu-status').textContent),
    null, { timeout: 180000 });
  out.gpu_status = await page.textContent('#gpu-status');
  await page.click('button.sample[data-name="0004_frog.jpg"]');
  await page.waitForFunction(() => document.querySelector('.meta')?.textContent.startsWith('0004_frog.jpg'));
  out.gpu_label = await page.textContent('#label');
  out.gpu_backend = await page.textContent('#backend');
  await page.screenshot({ path: shot, fullPage: true });

  // Relaxed SIMD: Chromium validates it, so the page loaded its relaxed-SIMD CPU module in
  // the background; CPU predictions run there from now on.
  await page.waitForFunction(() => /relaxed SIMD ready|no relaxed SIMD|failed/.test(document.querySelector('#cpu-status').textContent),
    null, { timeout: 60000 });
  out.cpu_status = await page.textContent('#cpu-status');

  // Back on CPU, still working after the bad files: the airplane sample, whole.
  await page.click('#use-cpu');
  await page.setInputFiles('#file', { name: 'plane.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await page.waitForFunction(() => document.querySelector('.meta')?.textContent.startsWith('plane.jpg'));
  out.label_after = await page.textContent('#label');
  out.backend_after = await page.textContent('#backend');

  await page.waitForFunction(() => document.querySelector('#push').textContent.startsWith('pushed 3 '),
    null, { timeout: 30000 });
  // The live view is scraped every 2 s: wait for the scrape that saw all three.
  await page.waitForFunction(() => {
    const t = document.querySelector('#runtimes').textContent;
    return /browser-cpu: 2/.test(t) && /browser-webgpu: 1/.test(t);
  }, null, { timeout: 10000 }).catch(() => {});
  out.runtimes = await page.textContent('#runtimes');
  out.push = await page.textContent('#push');
  out.total = await page.textContent('#total');
  out.console_errors = consoleErrors;
} catch (e) {
  out.failure = String(e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
