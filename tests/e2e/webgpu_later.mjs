// The page served without its WebGPU and relaxed-SIMD modules, as `cargo xtask run` serves it
// before those are built: choosing WebGPU says the module is not built yet (not "Failed to
// fetch dynamically imported module"), the relaxed-SIMD status says so too, and the page keeps
// classifying on its own wasm CPU kernels; with `?cpu=simd128` it does not ask for the module. Prints one JSON
// object; the Rust test judges it.
// Usage: node webgpu_later.mjs URL
import { launch } from './alerting.mjs';

const [url] = process.argv.slice(2);
const ctx = await launch('lookout-e2e-', ['--enable-unsafe-webgpu']);
const out = { errors: [] };
try {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => out.errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => /ready on|failed|software adapter|no WebGPU/.test((document.querySelector('#gpu-status')?.textContent ?? '')),
    null, { timeout: 60000 });
  await page.click('#use-webgpu');
  await page.waitForFunction(() => /ready on|failed/.test((document.querySelector('#gpu-status')?.textContent ?? '')),
    null, { timeout: 60000 });
  out.gpu_status = await page.textContent('#gpu-status');
  await page.click('button.sample[data-name="0001_ship.jpg"]');
  await page.waitForFunction(() => document.querySelector('.meta')?.textContent.startsWith('0001_ship.jpg'),
    null, { timeout: 60000 });
  out.label = await page.textContent('#label');
  out.backend = await page.textContent('#backend');
  await page.waitForFunction(() => /ready|failed|no relaxed/.test(document.querySelector('#cpu-status')?.textContent ?? ''),
    null, { timeout: 60000 });
  out.cpu_status = await page.textContent('#cpu-status');
  // `?cpu=simd128` keeps the page's own kernels without asking for the module.
  const off = await ctx.newPage();
  off.on('pageerror', (e) => out.errors.push(String(e)));
  await off.goto(url + '?cpu=simd128');
  await off.click('button.sample[data-name="0001_ship.jpg"]');
  await off.waitForSelector('#label', { timeout: 60000 });
  out.cpu_status_off = await off.textContent('#cpu-status');
  out.backend_off = await off.textContent('#backend');
} catch (e) {
  out.failure = String(e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
