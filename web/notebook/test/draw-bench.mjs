// Drawing alone, in headless Chromium (software canvas, as the notebook bench): a time series
// of SERIES × POINTS through the bundle's createTimeSeries, median of RUNS, for each line
// width given. Usage (after `bash build.sh` and `npm ci` in tests/e2e):
//   node test/draw-bench.mjs [SERIES] [POINTS] [RUNS] [LINE_WIDTH…]
// Prints one JSON line per line width.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(new URL('../../../tests/e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [series = '1000', points = '361', runs = '7', ...widths] = process.argv.slice(2);

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(root, path);
  try {
    if (!file.startsWith(root) || !statSync(file).isFile()) throw new Error('not found');
    res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
    res.end(readFileSync(file));
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
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
