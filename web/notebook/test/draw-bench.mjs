// Drawing alone, in headless Chromium (software canvas, as the notebook bench): a time series
// of SERIES × POINTS through the bundle's createTimeSeries, median of RUNS, for each line
// width given. Usage (after `bash build.sh` and `npm ci` in tests/e2e):
//   node test/draw-bench.mjs [SERIES] [POINTS] [RUNS] [LINE_WIDTH…]
// Prints one JSON line per line width.
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveNotebook } from './serve.mjs';

const require = createRequire(new URL('../../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [series = '1000', points = '361', runs = '7', ...widths] = process.argv.slice(2);

const { server, base } = await serveNotebook();
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'lookout-draw-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1200, height: 500 },
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  for (const w of widths.length ? widths : ['']) {
    const page = await ctx.newPage();
    const q = new URLSearchParams({ series, points, runs });
    if (w !== '') q.set('lineWidth', w);
    await page.goto(`${base}/test/draw-bench.html?${q}`);
    await page.waitForFunction(() => window.__result, null, { timeout: 300000 });
    console.log(JSON.stringify(await page.evaluate(() => window.__result)));
    await page.close();
  }
} finally {
  await ctx.close();
  server.close();
}
