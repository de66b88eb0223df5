// `cargo xtask page-bench`: the page served by `lookout serve`, ONNX Runtime Web and
// TensorFlow.js in one headless Chromium run. Usage: node bench.mjs <base URL> <runs> <fixture.json>
// Prints one JSON object on stdout.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const [base, runsArg, fixturePath] = process.argv.slice(2);
const runs = Number(runsArg) || 200;
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const p90 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(0.9 * (s.length - 1))]; };
const progress = (what, i, n) => process.stderr.write(`\r${what} ${i}/${n}${i === n ? '\n' : ''}`);

async function total(page) {
  return Number(await page.textContent('#total'));
}

// Clicks a sample and waits until the page has counted the prediction; returns the
// inference time the page shows and the backend it names.
async function classify(page, name) {
  const before = await total(page);
  await page.click(`.sample[data-name="${name}"]`);
  await page.waitForFunction((n) => Number(document.querySelector('#total')?.textContent) > n, before);
  const meta = await page.textContent('.meta');
  const ms = Number(/·\s*([0-9.]+) ms/.exec(meta)?.[1]);
  return { ms, backend: await page.textContent('#backend'), label: await page.textContent('#label') };
}

async function latencies(page, what) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    ms.push((await classify(page, fixture[i % fixture.length].name)).ms);
    if (i % 20 === 0 || i === runs - 1) progress(what, i + 1, runs);
  }
  return ms;
}

const out = {};
// 1. A browser without WebGPU: the CPU page alone, navigation → first prediction.
{
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
  const page = await browser.newPage();
  await page.goto(base, { waitUntil: 'commit' });
  await page.waitForSelector('.sample');
  const first = await classify(page, fixture[1].name);
  out.cpu_first_prediction_ms = await page.evaluate(() => performance.now());
  out.cpu_first_label = first.label;
  out.gpu_status_without_flag = await page.textContent('#gpu-status');
  await browser.close();
}
// 2. With WebGPU (SwiftShader): both backends of the page, and the peer, in one browser.
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: [...ARGS, '--enable-unsafe-webgpu'] });
try {
  const page = await browser.newPage();
  await page.goto(base, { waitUntil: 'commit' });
  await page.waitForSelector('.sample');
  await page.click('#use-webgpu');
  await page.waitForFunction(() => /ready on/.test(document.querySelector('#gpu-status')?.textContent ?? ''), null, { timeout: 120000 });
  const ready = await page.evaluate(() => performance.now());
  const g = await classify(page, fixture[1].name);
  out.webgpu_ready_ms = ready;
  out.webgpu_first_prediction_ms = await page.evaluate(() => performance.now());
  out.webgpu_backend = g.backend;
  out.webgpu_ms = await latencies(page, 'page WebGPU');
  await page.click('#use-cpu');
  // The page's CPU path: the relaxed-SIMD module, which the page loads by itself after it is
  // up (Chromium validates relaxed SIMD) ...
  await page.waitForFunction(() => /relaxed SIMD ready|no relaxed SIMD|failed/.test(document.querySelector('#cpu-status')?.textContent ?? ''), null, { timeout: 120000 });
  out.cpu_status = await page.textContent('#cpu-status');
  const c = await classify(page, fixture[1].name);
  out.cpu_backend = c.backend;
  out.cpu_ms = await latencies(page, 'page wasm CPU');
  // ... against the page's own SIMD128 kernels (`?cpu=simd128`), in the same browser.
  const plain = await browser.newPage();
  await plain.goto(base + '?cpu=simd128', { waitUntil: 'commit' });
  await plain.waitForSelector('.sample');
  const s = await classify(plain, fixture[1].name);
  out.simd128_backend = s.backend;
  out.simd128_ms = await latencies(plain, 'page wasm CPU, SIMD128 only');
  await plain.close();

  for (const [key, file, what] of [['ort', 'ort.html', 'ONNX Runtime Web'], ['tfjs', 'tfjs.html', 'TensorFlow.js']]) {
    const peer = await browser.newPage();
    peer.on('console', (m) => process.stderr.write(`${key} page: ${m.text()}\n`));
    peer.on('pageerror', (e) => process.stderr.write(`${key} page error: ${e}\n`));
    await peer.goto(base + 'peer/' + file, { waitUntil: 'commit' });
    await peer.waitForFunction(() => typeof window.peerBench === 'function', null, { timeout: 60000 });
    progress(what, 0, runs);
    const r = await peer.evaluate(([names, n]) => window.peerBench(names, n), [fixture.map((f) => f.name), runs]);
    progress(what, runs, runs);
    out[`${key}_ready_ms`] = r.ready_ms;
    out[`${key}_ms`] = r.ms;
    if (r.backend) out[`${key}_backend`] = r.backend;
    let agree = 0;
    let maxDiff = 0;
    for (const [i, f] of fixture.entries()) {
      const want = f.probabilities;
      const got = r.results[i].probabilities;
      if (want.indexOf(Math.max(...want)) === r.results[i].index) agree++;
      for (let k = 0; k < 10; k++) maxDiff = Math.max(maxDiff, Math.abs(want[k] - got[k]));
    }
    out[`${key}_label_agreement`] = `${agree}/${fixture.length}`;
    out[`${key}_max_probability_diff`] = maxDiff;
    await peer.close();
  }
} finally {
  await browser.close();
}
for (const k of ['webgpu_ms', 'cpu_ms', 'simd128_ms', 'ort_ms', 'tfjs_ms']) {
  out[k.replace('_ms', '_median_ms')] = median(out[k]);
  out[k.replace('_ms', '_p90_ms')] = p90(out[k]);
  // Chromium coarsens performance.now() to 0.1 ms here (no cross-origin isolation): the
  // mean of the runs resolves differences the median's 0.1 ms steps hide.
  out[k.replace('_ms', '_mean_ms')] = out[k].reduce((a, b) => a + b, 0) / out[k].length;
  delete out[k];
}
out.cpu_vs_ort = out.cpu_median_ms / out.ort_median_ms;
out.cpu_vs_tfjs = out.cpu_median_ms / out.tfjs_median_ms;
out.simd128_vs_ort = out.simd128_median_ms / out.ort_median_ms;
out.cpu_vs_simd128 = out.cpu_median_ms / out.simd128_median_ms;
out.cpu_vs_simd128_mean = out.cpu_mean_ms / out.simd128_mean_ms;
out.cpu_vs_ort_mean = out.cpu_mean_ms / out.ort_mean_ms;
console.log(JSON.stringify(out, null, 1));
