// The page end to end in headless Chromium: load, classify a gallery sample, refuse bad
// files with a readable message and keep working, and wait until the page's metrics were
// pushed through the server's proxy. Prints one JSON object; the Rust test judges it.
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
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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

  // Still working: the airplane sample, whole.
  await page.setInputFiles('#file', { name: 'plane.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await page.waitForFunction(() => document.querySelector('.meta')?.textContent.startsWith('plane.jpg'));
  out.label_after = await page.textContent('#label');

  await page.waitForFunction(() => document.querySelector('#push').textContent.startsWith('pushed 2 '),
    null, { timeout: 30000 });
  out.push = await page.textContent('#push');
  out.total = await page.textContent('#total');
  out.console_errors = consoleErrors;
  await page.screenshot({ path: shot, fullPage: true });
} catch (e) {
  out.failure = String(e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
