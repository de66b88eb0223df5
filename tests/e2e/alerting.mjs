// What the alert scripts (alerts.mjs, alerts_seed.mjs) share: headless Chromium with a fresh
// profile, setting an input as a person does (type, then change), and reading one rule's row
// in the alert list (its state, name and history).
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const T = { timeout: 20000 };

// (Also used by webgpu_later.mjs, with `--enable-unsafe-webgpu` as an extra argument.)
export const launch = (prefix, extraArgs = []) => chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), prefix)), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 1000 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
});

export const setValue = async (page, selector, value) => {
  await page.fill(selector, value);
  await page.dispatchEvent(selector, 'change');
};

// Opens the alert list, waits for the row of `key` (dashboard uid/panel id) evaluated by the
// server in `state`, expands its history; screenshot at `shot`. Returns what the row shows.
export const readServerRow = async (page, key, state, shot) => {
  await page.click('#view-alerts');
  const row = `.alert-row[data-key="${key}"][data-by="server"]`;
  await page.waitForSelector(`${row}[data-state="${state}"]`, T);
  const seen = {
    row,
    state: await page.$eval(row, (e) => e.dataset.state),
    name: await page.textContent(`${row} .alert-open`),
  };
  await page.click(`${row} .alert-expand`);
  await page.waitForSelector('.alert-history .alert-transition', T);
  seen.history = await page.$$eval('.alert-history .alert-transition', (els) => els.map((e) => e.textContent));
  await page.screenshot({ path: shot, fullPage: true });
  return seen;
};
