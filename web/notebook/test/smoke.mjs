// Plain-node smoke check of the built bundle (run `bash build.sh` first):
//   node test/smoke.mjs
// Node has no DOM, so this only checks that the ES module loads (no top-level DOM access, no
// node-only imports, no leftover `require`) and exports the API the Rust side binds to. The
// widgets themselves are checked in a browser with test/page.html (see test/browser.mjs).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/notebook.js', import.meta.url));
const src = await readFile(bundle, 'utf8');
const fail = (msg) => {
  console.error(`smoke: FAIL: ${msg}`);
  process.exit(1);
};
if (/\brequire\(/.test(src)) fail('bundle contains require(');
if (/["']node:[a-z_]+["']|diagnostics_channel/.test(src)) fail('bundle imports a node builtin');
if (/^\s*import\s/m.test(src.slice(0, 200)) || /\bfrom\s*["'][^"'.]/.test(src)) fail('bundle has external imports');

const mod = await import(bundle);
const expected = ['createEditor', 'createTimeSeries', 'createHeatmap', 'createSparkline',
  'storeOpen', 'storeList', 'storeGet', 'storeSave', 'storeMark', 'storeDelete', 'storeVersions',
  'channelPost', 'channelListen'];
for (const name of expected) {
  if (typeof mod[name] !== 'function') fail(`export ${name} missing`);
}
const extra = Object.keys(mod).filter((k) => !expected.includes(k));
if (extra.length) fail(`unexpected exports: ${extra.join(', ')}`);
console.log(`smoke: ok (${expected.join(', ')}; ${src.length} bytes)`);
