// Dashboards end to end in headless Chromium against `lookout serve --data-dir`: a first visit
// shows the seed's dashboard drawn; a dashboard is created, given a panel with a query,
// renamed, and is still there after a reload; a panel moved and resized by dragging keeps its
// place after a reload; a row collapses; markup in titles, descriptions and panel titles is
// text; versions restore; two tabs on one dashboard: the stale one gets the conflict prompt
// (it has no BroadcastChannel: a tab that missed the news), a third one reloads by itself;
// and with the server stopped an edit waits ("sync pending") and reaches the server when it
// is back. Then import: a real Grafana export (tikv, rows and variables) through the file
// input opens with its report; a hostile Grafana export renders as text; a truncated file
// and a Lookout JSON together (progress) give the error line naming the file and the
// import; the Lookout one's custom variable narrows its panel's series and a new selection
// changes them; the variables editor adds and removes one; export Grafana and Lookout JSON
// (downloads that parse); share a dashboard and a panel: the link opens the dashboard in a
// new page as an unsaved copy, saved under a free uid. It asks the Rust test to stop and
// start the server by printing {"event":"stop"|"start"} lines and waiting for a line on
// stdin. Prints one JSON object last.
// Usage: node dashboards.mjs URL SHOTS_DIR
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [url, shots] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'lookout-dashboards-'));
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (event) => {
  console.log(JSON.stringify(event));
  const { value } = await stdin.next();
  return value;
};
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin }).catch(() => {});
const out = { steps: [] };
const step = (s) => out.steps.push(s);
const T = { timeout: 20000 };
const XSS = '<img src=x onerror="window.__pwned=1">';
const errors = [];
const dialogs = [];

const watch = (page, tag) => {
  page.on('pageerror', (e) => errors.push(`${tag}: ${e}`));
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
};
// Opens the page's notebook tab, then the dashboards view.
const openDashboards = async (page) => {
  await page.goto(url);
  await page.click('#tab-notebook');
  await page.click('#view-dashboards', T);
};
const savedState = (page, state) => page.waitForFunction(
  (s) => document.querySelector('#dashboard .save-state')?.dataset.state === s, state, T);
// Runs `action` and waits until its change is saved (a new local version, state "saved").
const saved = async (page, action) => {
  await savedState(page, 'saved');
  const v0 = await page.$eval('#dashboard .save-state', (e) => +e.dataset.version);
  await action();
  await page.waitForFunction((v) => {
    const e = document.querySelector('#dashboard .save-state');
    return e && e.dataset.state === 'saved' && +e.dataset.version > v;
  }, v0, T);
};
const setValue = async (page, selector, value) => {
  await page.fill(selector, value);
  await page.dispatchEvent(selector, 'change');
};
const titleIs = (page, title) => page.waitForFunction(
  (t) => document.querySelector('#dash-title')?.value === t, title, T);
const panelTitles = (page) => page.$$eval('#dashboard .dash-panel-title', (els) => els.map((e) => e.textContent));
// Adds a panel through the editor: its title and one query.
const addPanel = async (page, title, query) => {
  await page.click('#dash-add-panel');
  await page.waitForSelector('#dash-editor .cm-content', T);
  await setValue(page, '#dash-editor input.cell-title', title);
  await page.click('#dash-editor .cm-content');
  await page.keyboard.type(query);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  await page.click('#dash-editor-close');
  await page.waitForFunction((t) => [...document.querySelectorAll('#dashboard .dash-panel-title')]
    .some((e) => e.textContent === t), title, T);
};
const pos = (page, id) => page.$eval(`#panel-${id}`, (e) => ({
  x: +e.dataset.x, y: +e.dataset.y, w: +e.dataset.w, h: +e.dataset.h }));
const drag = async (page, selector, dx, dy) => {
  const b = await page.locator(selector).boundingBox();
  const x = b.x + Math.min(20, b.width / 2);
  const y = b.y + b.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx, y + dy, { steps: 8 });
  await page.mouse.up();
};

// The series a panel's legend lists (the time column left out).
const legend = (page, panel) => page.$$eval(`${panel} .u-legend .u-series .u-label`,
  (els) => els.map((e) => e.textContent).filter((t) => t !== 'Time'));
const legendIs = (page, panel, want) => page.waitForFunction(([p, w]) => {
  const got = [...document.querySelectorAll(`${p} .u-legend .u-series .u-label`)]
    .map((e) => e.textContent).filter((t) => t !== 'Time').sort();
  return JSON.stringify(got) === JSON.stringify([...w].sort());
}, [panel, want], T);
const importFiles = (page, files) => page.setInputFiles('#dash-import-file', files.map(([name, text]) => ({
  name, mimeType: 'application/json', buffer: Buffer.from(text) })));
// Drops files on the import zone, as a drag from the desktop does.
const dropFiles = (page, files) => page.evaluate((list) => {
  const dt = new DataTransfer();
  for (const [name, text] of list) dt.items.add(new File([text], name, { type: 'application/json' }));
  document.querySelector('#dash-import').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
}, files);
const tikv = readFileSync(new URL('../../crates/grafana/testdata/grafana/tikv-raw-schema16.json', import.meta.url), 'utf8');
const hostile = JSON.stringify({
  uid: 'hostile', title: XSS, description: XSS, schemaVersion: 30, time: { from: 'now-15m', to: 'now' },
  templating: { list: [] },
  panels: [{
    id: 1, type: 'timeseries', title: XSS, description: XSS, gridPos: { x: 0, y: 0, w: 24, h: 9 },
    targets: [{ refId: 'A', expr: 'sum by (label) (prediction_value_total)', legendFormat: `${XSS}{{label}}` }],
  }],
});
const varsDashboard = JSON.stringify({
  schemaVersion: 2, uid: 'e2e-vars', title: 'E2E variables', time: { from: 'now-15m', to: 'now' },
  variables: [
    { name: 'label', kind: { type: 'custom', query: 'Ship,Cat' }, multi: true, current: ['Ship'], options: ['Ship', 'Cat'] },
    { name: 'bad', kind: { type: 'query', query: 'nope(up)' } },
  ],
  panels: [{
    id: 1, title: 'Predictions of $label',
    targets: [{ refId: 'A', expr: 'sum by (label) (prediction_value_total{label=~"$label"})', legendFormat: '{{label}}' }],
    panel: { kind: 'timeseries', grid: { x: 0, y: 0, w: 24, h: 9 } },
  }],
});

let page;
let page4;
try {
  page = await ctx.newPage();
  watch(page, 'tab1');
  await page.goto(url);
  await page.click('button.sample[data-name="0001_ship.jpg"]');
  await page.waitForFunction(() => document.querySelector('.meta')?.textContent.startsWith('0001_ship.jpg'),
    null, { timeout: 60000 });
  step('classified');

  // A first visit: the seed's dashboard, its five panels drawn.
  await page.click('#tab-notebook');
  await page.click('#view-dashboards', T);
  await page.waitForSelector('#dashboard[data-uid="lookout-seed"]', { timeout: 60000 });
  await page.waitForFunction(() => document.querySelectorAll('#dashboard .dash-panel .chart.timeseries canvas').length >= 3
    && document.querySelectorAll('#dashboard .stat-value').length >= 1
    && document.querySelectorAll('#dashboard .bar-gauge').length >= 1, null, T);
  out.seed_titles = await panelTitles(page);
  out.seed_canvases = await page.$$eval('#dashboard .dash-panel .chart.timeseries', (els) => els.filter((e) => e.querySelector('canvas')).length);
  out.seed_stats = await page.$$eval('#dashboard .stat-value', (els) => els.map((e) => e.textContent));
  await page.screenshot({ path: join(shots, 'dashboards-seed.png'), fullPage: true });
  step('seed');

  // The list: both built-in dashboards, where they are kept.
  await page.click('#dash-back');
  await page.waitForSelector('#dash-list .dash-item', T);
  out.list = await page.$$eval('#dash-list .dash-item', (els) => els.map((e) => e.dataset.uid));
  await page.fill('#dash-search', 'drift');
  await page.waitForFunction(() => document.querySelectorAll('#dash-list .dash-item').length === 1, null, T);
  out.search = await page.$$eval('#dash-list .dash-item', (els) => els.map((e) => e.dataset.uid));
  await page.fill('#dash-search', '');
  await page.waitForFunction(() => !document.querySelector('#dash-server')?.textContent.startsWith('Looking'), null, T);
  out.server_text = await page.textContent('#dash-server');
  step('list');

  // Create, add a panel with a query, rename; a reload keeps it.
  await page.fill('#dash-new-title', 'E2E board');
  await page.click('#dash-create');
  await page.waitForSelector('#dashboard[data-uid="e2e-board"]', T);
  await addPanel(page, 'Total predictions', 'sum(prediction_value_total)');
  await saved(page, () => setValue(page, '#dash-title', 'E2E board renamed'));
  await openDashboards(page);
  await page.waitForSelector('#dashboard[data-uid="e2e-board"]', T);
  await titleIs(page, 'E2E board renamed');
  out.after_reload_panels = await panelTitles(page);
  step('create rename reload');

  // Move and resize by dragging; a reload keeps the place.
  const id = await page.$eval('#dashboard .dash-panel', (e) => e.dataset.panel);
  const grid = await page.locator('#dash-grid').boundingBox();
  const col = (grid.width + 8) / 24;
  await saved(page, () => drag(page, `#panel-${id} .dash-panel-head`, 6 * col, 2 * 38));
  await saved(page, () => drag(page, `#panel-${id} .dash-resize`, 2 * col, 38));
  out.moved = await pos(page, id);
  await openDashboards(page);
  await page.waitForSelector(`#panel-${id}`, T);
  out.moved_after_reload = await pos(page, id);
  step('drag');

  // A row and a panel in it; collapsing the row hides the panel.
  await page.click('#dash-add-row');
  await page.waitForSelector('#dashboard .dash-row', T);
  await addPanel(page, 'In the row', 'sum(inference_time_count)');
  out.panels_before_collapse = (await panelTitles(page)).length;
  await saved(page, () => page.click('#dashboard .dash-row .row-toggle'));
  await page.waitForFunction(() => document.querySelector('#dashboard .dash-row')?.dataset.collapsed === 'true', null, T);
  out.panels_after_collapse = await panelTitles(page);
  out.row_hidden = await page.textContent('#dashboard .dash-row .row-hidden');
  await page.screenshot({ path: join(shots, 'dashboards-e2e-board.png'), fullPage: true });
  step('row');

  // Versions: two titles, then the first restored (a new version).
  await saved(page, () => setValue(page, '#dash-title', 'V1 title'));
  await saved(page, () => setValue(page, '#dash-title', 'V2 title'));
  await page.click('#dash-versions-toggle');
  await page.waitForFunction(() => [...document.querySelectorAll('#dash-versions .version-title')]
    .some((e) => e.textContent === 'V1 title'), null, T);
  const v1 = page.locator('#dash-versions .version-item', { has: page.locator('.version-title', { hasText: /^V1 title$/ }) }).first();
  await v1.locator('.version-diff-btn').click();
  await page.waitForSelector('#version-diff .diff-add', T);
  out.diff_added = await page.$$eval('#version-diff .diff-add', (els) => els.map((e) => e.textContent.trim()));
  await saved(page, () => v1.locator('.version-restore').click());
  await titleIs(page, 'V1 title');
  await page.waitForFunction(() => document.querySelector('#dash-versions .version-title')?.textContent === 'V1 title', null, T);
  out.versions = await page.$$eval('#dash-versions .version-item', (els) => els.map((e) => [+e.dataset.version, e.querySelector('.version-title').textContent]));
  await page.screenshot({ path: join(shots, 'dashboards-versions.png'), fullPage: true });
  await page.click('#dash-versions-toggle');
  step('versions');

  // Two tabs on one dashboard. Tab 2 missed the news (no BroadcastChannel), so its save,
  // based on an older version, gets the prompt; tab 3 hears tab 1 and reloads by itself.
  const page2 = await ctx.newPage();
  watch(page2, 'tab2');
  await page2.addInitScript(() => { Object.defineProperty(window, 'BroadcastChannel', { value: undefined }); });
  await openDashboards(page2);
  await titleIs(page2, 'V1 title');
  const page3 = await ctx.newPage();
  watch(page3, 'tab3');
  await openDashboards(page3);
  await titleIs(page3, 'V1 title');
  await saved(page, () => setValue(page, '#dash-title', 'Edited in tab 1'));
  await titleIs(page3, 'Edited in tab 1');
  await setValue(page2, '#dash-title', 'Edited in tab 2');
  await page2.waitForSelector('#dash-conflict', T);
  out.conflict_text = await page2.textContent('#dash-conflict');
  out.conflict_state = await page2.$eval('#dashboard .save-state', (e) => e.dataset.state);
  await page2.screenshot({ path: join(shots, 'dashboards-conflict.png'), fullPage: true });
  await page2.click('#dash-reload-theirs');
  await titleIs(page2, 'Edited in tab 1');
  out.tab1_title_after = await page.inputValue('#dash-title');
  await page2.close();
  await page3.close();
  step('two tabs');

  // Markup typed into a title, a description and a panel title is text.
  await page.click('#dash-back');
  await page.fill('#dash-new-title', XSS);
  await page.click('#dash-create');
  await page.waitForFunction(() => document.querySelector('#dashboard')?.dataset.uid?.startsWith('img-src-x'), null, T);
  await setValue(page, '#dash-description', XSS);
  await saved(page, () => addPanel(page, XSS, 'sum(prediction_value_total)'));
  out.xss_panel_titles = await panelTitles(page);
  out.xss_description = await page.textContent('#dash-description-text');
  await page.click('#dash-back');
  await page.waitForSelector('#dash-list .dash-item', T);
  out.xss_list = await page.$$eval('#dash-list .dash-open', (els) => els.map((e) => e.textContent));
  out.img_elements = await page.$$eval('#dashboards img', (els) => els.length);
  out.pwned = await page.evaluate(() => typeof window.__pwned);
  step('markup');

  // Delete (after confirming) the markup dashboard.
  const xssItem = page.locator('#dash-list .dash-item', { has: page.locator('.dash-open', { hasText: '<img' }) });
  await xssItem.locator('.dash-delete').click();
  await xssItem.locator('.dash-delete-yes').click();
  await page.waitForFunction(() => ![...document.querySelectorAll('#dash-list .dash-open')]
    .some((e) => e.textContent.includes('<img')), null, T);
  out.after_delete = await page.$$eval('#dash-list .dash-item', (els) => els.map((e) => e.dataset.uid));
  step('delete');

  // Import a real Grafana export: it opens, its rows, variables bar and report are shown.
  await page.waitForSelector('#dash-import-file', { state: 'attached', ...T });
  await importFiles(page, [['tikv-raw.json', tikv]]);
  await page.waitForSelector('#dashboard[data-uid="K0D2tEZZz"]', T);
  await page.waitForSelector('#dash-import-results .import-ok', T);
  out.import_report = await page.textContent('#dash-import-results .import-ok .import-text');
  out.tikv_title = await page.inputValue('#dash-title');
  await page.waitForSelector('#dashboard .dash-row', T);
  out.tikv_rows = await page.$$eval('#dashboard .dash-row .row-title', (els) => els.map((e) => e.textContent));
  await page.waitForSelector('#dash-variables .dash-var', T);
  out.tikv_vars = await page.$$eval('#dash-variables .dash-var', (els) => els.map((e) => e.dataset.var));
  out.tikv_var_text = await page.textContent('#dash-variables .dash-var[data-var="command"] .var-toggle');
  await saved(page, () => page.click('#dashboard .dash-row .row-toggle'));
  await page.waitForFunction(() => document.querySelectorAll('#dashboard .dash-panel').length >= 2, null, T);
  out.tikv_panels = await panelTitles(page);
  await page.screenshot({ path: join(shots, 'dashboards-import-tikv.png'), fullPage: true });
  step('import grafana');

  // A hostile Grafana export (dropped on the import zone): every text from it is text.
  await page.click('#dash-back');
  await page.waitForSelector('#dash-import', T);
  await dropFiles(page, [['hostile.json', hostile]]);
  await page.waitForSelector('#dashboard[data-uid="hostile"]', T);
  await page.waitForFunction(() => [...document.querySelectorAll('#dashboard .u-legend .u-label')]
    .some((e) => e.textContent.startsWith('<img')), null, T);
  out.hostile_panel_titles = await panelTitles(page);
  out.hostile_title = await page.inputValue('#dash-title');
  out.hostile_description = await page.textContent('#dash-description-text');
  out.hostile_legend = await legend(page, '#dashboard .dash-panel');
  out.hostile_report = await page.textContent('#dash-import-results .import-ok .import-text');
  out.hostile_img = await page.$$eval('#dashboards img', (els) => els.length);
  out.hostile_pwned = await page.evaluate(() => typeof window.__pwned);
  step('import hostile');

  // Two files at once (progress): a truncated one is refused by name, the other imported.
  await page.click('#dash-back');
  await importFiles(page, [['broken.json', tikv.slice(0, 300)], ['vars.json', varsDashboard]]);
  await page.waitForFunction(() => document.querySelectorAll('#dash-import-results li').length === 2, null, T);
  out.import_progress = await page.$eval('#dash-import-progress', (e) => [e.value, e.max]);
  out.import_error = await page.textContent('#dash-import-results .import-error');
  out.list_after_import = await page.$$eval('#dash-list .dash-item', (els) => els.map((e) => e.dataset.uid));
  // Too deep, and too large (refused from its size, never read): one line each.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['['.repeat(5000)], 'deep.json', { type: 'application/json' }));
    dt.items.add(new File([new Uint8Array((16 << 20) + 1)], 'big.json', { type: 'application/json' }));
    document.querySelector('#dash-import').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.querySelector('#dash-import-results li[data-file="big.json"]'), null, T);
  out.import_refused = await page.$$eval('#dash-import-results .import-error', (els) => els.map((e) => e.textContent));
  step('import several');

  // A custom variable narrows the panel's series; another selection changes them.
  await page.click('#dash-list .dash-item[data-uid="e2e-vars"] .dash-open');
  await page.waitForSelector('#dash-variables .dash-var[data-var="label"]', T);
  const varPanel = '#dashboard .dash-panel';
  await legendIs(page, varPanel, ['Ship']);
  await page.waitForSelector('#dash-variables .dash-var[data-var="bad"] .var-error', T);
  out.var_error = await page.textContent('#dash-variables .dash-var[data-var="bad"] .var-error');
  out.vars_legend_1 = await legend(page, varPanel);
  out.vars_title_1 = (await panelTitles(page))[0];
  await page.click('#dash-variables .dash-var[data-var="label"] .var-toggle');
  await saved(page, () => page.click('#dash-variables .var-option[data-value="Cat"] input'));
  await legendIs(page, varPanel, ['Cat', 'Ship']);
  out.vars_legend_2 = await legend(page, varPanel);
  await saved(page, () => page.click('#dash-variables .var-option[data-value="Ship"] input'));
  await legendIs(page, varPanel, ['Cat']);
  out.vars_legend_3 = await legend(page, varPanel);
  out.vars_title_3 = (await panelTitles(page))[0];
  await page.click('#dash-variables .dash-var[data-var="label"] .var-toggle');
  await page.screenshot({ path: join(shots, 'dashboards-variables.png'), fullPage: true });
  // The variables editor: a custom variable added shows in the bar with its options.
  await page.click('#dash-variables-toggle');
  await saved(page, () => page.click('#dash-var-add'));
  await saved(page, () => setValue(page, '#dash-var-editor .var-row[data-index="2"] .var-query', 'a,b,c'));
  await page.waitForFunction(() => document.querySelectorAll('#dash-variables .dash-var[data-var="var3"] option').length === 3, null, T);
  out.editor_options = await page.$$eval('#dash-variables .dash-var[data-var="var3"] option', (els) => els.map((e) => e.textContent));
  // A query variable over the page's metrics, sorted alphabetically, descending.
  const row3 = '#dash-var-editor .var-row[data-index="2"]';
  await page.selectOption(`${row3} .var-kind`, 'query');
  await page.dispatchEvent(`${row3} .var-kind`, 'change');
  await saved(page, () => setValue(page, `${row3} .var-query`, 'label_values(prediction_value_total, label)'));
  await page.selectOption(`${row3} .var-sort`, '2');
  await saved(page, () => page.dispatchEvent(`${row3} .var-sort`, 'change'));
  await page.waitForFunction(() => document.querySelectorAll('#dash-variables .dash-var[data-var="var3"] option').length >= 10, null, T);
  out.sorted_options = await page.$$eval('#dash-variables .dash-var[data-var="var3"] option', (els) => els.map((e) => e.textContent));
  out.sort_value = await page.$eval(`${row3} .var-sort`, (e) => e.value);
  await setValue(page, '#dash-var-editor .var-row[data-index="2"] .var-name', 'label');
  out.editor_refused = await page.textContent('#dash-var-editor-error');
  await saved(page, () => page.click('#dash-var-editor .var-row[data-index="2"] .var-remove'));
  await page.waitForFunction(() => !document.querySelector('#dash-variables .dash-var[data-var="var3"]'), null, T);
  await page.click('#dash-variables-toggle');
  step('variables');

  // Export: Grafana JSON and Lookout JSON downloads that parse.
  const download = async (item) => {
    const [d] = await Promise.all([page.waitForEvent('download', T), (async () => {
      await page.click('#dash-export');
      await page.click(item);
    })()]);
    return [d.suggestedFilename(), JSON.parse(readFileSync(await d.path(), 'utf8'))];
  };
  const [gName, g] = await download('#dash-export-grafana');
  out.export_grafana = { name: gName, panels: g.panels?.length, exprs: (g.panels || []).flatMap((p) => (p.targets || []).map((t) => t.expr)),
    variables: (g.templating?.list || []).map((v) => v.name) };
  const [lName, l] = await download('#dash-export-lookout');
  out.export_lookout = { name: lName, uid: l.uid, panels: l.panels?.length };
  step('export');

  // Share a panel, then the dashboard; the link opens it in a new page, unsaved, and saving
  // gives it a free uid.
  await page.click(`${varPanel} .dash-panel-menu`);
  await page.click(`${varPanel} .menu-share`);
  await page.waitForSelector('#dash-share-box[data-what="panel"]', T);
  out.panel_link = await page.inputValue('#dash-share-url');
  await page.click('#dash-share');
  await page.waitForSelector('#dash-share-box[data-what="dashboard"]', T);
  const link = await page.inputValue('#dash-share-url');
  out.share_link = link.slice(0, link.indexOf('#') + 13);
  await page.click('#dash-share-copy');
  out.share_copied = await page.waitForFunction(() => document.querySelector('#dash-share-copied')?.textContent || null,
    null, { timeout: 5000 }).then((h) => h.jsonValue()).catch(() => 'no answer');
  out.clipboard = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `unreadable: ${e}`);
  page4 = await ctx.newPage();
  watch(page4, 'shared');
  await page4.goto(link);
  await page4.waitForSelector('#dashboard[data-unsaved="true"]', { timeout: 60000 });
  await legendIs(page4, varPanel, ['Cat']);
  out.shared_title = await page4.inputValue('#dash-title');
  out.shared_panels = await panelTitles(page4);
  out.shared_vars = await page4.$$eval('#dash-variables .dash-var', (els) => els.map((e) => e.dataset.var));
  await page4.screenshot({ path: join(shots, 'dashboards-shared.png'), fullPage: true });
  await page4.click('#dash-save-shared');
  await page4.waitForSelector('#dashboard[data-unsaved="false"]', T);
  out.shared_saved_uid = await page4.$eval('#dashboard', (e) => e.dataset.uid);
  out.shared_hash_after = await page4.evaluate(() => location.hash);
  await page4.close();
  await page.click('#dash-back');
  step('share');

  // The server: saved there; stopped, an edit waits; back, the edit reaches it.
  await page.click('#dash-list .dash-item[data-uid="e2e-board"] .dash-open');
  await titleIs(page, 'Edited in tab 1');
  await savedState(page, 'saved');
  await ask({ event: 'stop', uid: 'e2e-board' });
  await setValue(page, '#dash-title', 'Edited while away');
  await savedState(page, 'pending');
  out.pending_text = await page.textContent('#dashboard .save-state');
  await page.screenshot({ path: join(shots, 'dashboards-pending.png'), fullPage: true });
  // A dashboard deleted while the server is away stays deleted when it is back.
  await page.click('#dash-back');
  const drift = page.locator('#dash-list .dash-item[data-uid="lookout-drift"]');
  await drift.locator('.dash-delete').click();
  await drift.locator('.dash-delete-yes').click();
  await page.waitForFunction(() => !document.querySelector('#dash-list .dash-item[data-uid="lookout-drift"]'), null, T);
  // The notice comes once the browser's copy is gone and the server was found away.
  out.away_delete_notice = await page.waitForFunction(
    () => (document.querySelector('#dashboards')?.textContent || '').includes('will be told when it is back'),
    null, { timeout: 15000 }).then(() => true, () => false);
  await ask({ event: 'start' });
  await page.click('#dash-list .dash-item[data-uid="e2e-board"] .dash-open');
  await page.waitForFunction(() => document.querySelector('#dashboard .save-state')?.dataset.state === 'saved',
    null, { timeout: 40000 });
  out.synced_text = await page.textContent('#dashboard .save-state');
  await page.reload();
  await page.click('#tab-notebook');
  await page.click('#view-dashboards', T);
  await page.waitForSelector('#dashboard, #dash-list', { timeout: 60000 });
  if (await page.$('#dash-back')) await page.click('#dash-back');
  await page.waitForSelector('#dash-list .dash-item[data-uid="e2e-board"]', T);
  await page.waitForFunction(() => (document.querySelector('#dash-server')?.textContent || '').includes('on the server'), null, T)
    .catch(() => {});
  await page.waitForTimeout(1500);
  out.after_away_delete = await page.$$eval('#dash-list .dash-item', (els) => els.map((e) => e.dataset.uid));
  step('server away and back');

  // The dashboard's file edited on the server's disk (by hand, or a `git pull`): the open
  // view shows it without a reload.
  await page.click('#dash-list .dash-item[data-uid="e2e-board"] .dash-open');
  await titleIs(page, 'Edited while away');
  const edited = Date.now();
  await ask({ event: 'edit-file', uid: 'e2e-board', title: 'Edited on disk' });
  await page.waitForFunction(() => document.querySelector('#dash-title')?.value === 'Edited on disk',
    null, { timeout: 30000 });
  out.disk_edit_seen_ms = Date.now() - edited;
  out.disk_edit_state = await page.$eval('#dashboard .save-state', (e) => e.dataset.state);
  step('edited on disk');

  out.storage_error = await page.textContent('#dash-storage-error');
  out.dialogs = dialogs;
  out.page_errors = errors;
} catch (e) {
  out.failure = String(e);
  out.page_errors = errors;
  if (page) {
    await page.screenshot({ path: join(shots, 'dashboards-failure.png'), fullPage: true }).catch(() => {});
    out.dom = await page.evaluate(() => document.querySelector('#dashboards')?.outerHTML.slice(0, 4000)).catch(() => '');
  }
  if (page4 && !page4.isClosed()) {
    await page4.screenshot({ path: join(shots, 'dashboards-failure-shared.png'), fullPage: true }).catch(() => {});
    out.dom_shared = await page4.evaluate(() => document.querySelector('#dashboards')?.outerHTML.slice(0, 6000)).catch(() => '');
  }
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
process.exit(0);
