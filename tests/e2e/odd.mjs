// Odd images through the page's file picker in headless Chromium (wasm CPU), one at a time:
// for each file, what the page shows — the label and confidence, or the error line.
// Prints one JSON object; the Rust test (tests/odd_images.rs) compares it with the other adapters.
// Usage: node odd.mjs URL FILE...
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const [url, ...files] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'lookout-e2e-odd-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { results: {}, console_errors: [] };
try {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => out.console_errors.push(String(e)));
  await page.goto(url);
  // The model is up once a gallery sample has been classified.
  await page.click('button.sample[data-name="0001_ship.jpg"]');
  await page.waitForSelector('#label', { timeout: 60000 });
  for (const file of files) {
    const name = basename(file);
    const started = Date.now();
    // The browser's own type for the name, as a file picker would give it.
    await page.setInputFiles('#file', { name, mimeType: 'application/octet-stream', buffer: readFileSync(file) });
    await page.waitForFunction((n) =>
      (document.querySelector('.meta')?.textContent ?? '').startsWith(`${n} ·`)
      || (document.querySelector('#error')?.textContent ?? '').includes(`${n}:`), name, { timeout: 120000 });
    const error = await page.textContent('#error');
    if (error.includes(`${name}:`)) {
      out.results[name] = { error: error.slice(error.indexOf(`${name}:`) + name.length + 1).trim() };
    } else {
      const shown = await page.textContent('.label');
      const m = /^(\S+)\s+([\d.]+) %$/.exec(shown.trim());
      out.results[name] = m ? { class: m[1], confidence_percent: Number(m[2]) } : { unparsed: shown };
    }
    out.results[name].ms = Date.now() - started;
  }
  // The page is still alive and answering after all of them.
  await page.click('button.sample[data-name="0004_frog.jpg"]');
  await page.waitForFunction(() => (document.querySelector('.meta')?.textContent ?? '').startsWith('0004_frog.jpg ·'));
  out.after = await page.textContent('#label');
} catch (e) {
  out.failure = String(e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
