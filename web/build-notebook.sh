#!/usr/bin/env bash
# Trunk post-build hook: builds the notebook's JavaScript (web/notebook: CodeMirror 6 +
# codemirror-promql 0.42 + uPlot, pinned in its package-lock.json, bundled by esbuild) and
# writes it to <staging>/notebook/, from where the page imports it when the notebook opens.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
staging="${TRUNK_STAGING_DIR:?run by trunk (TRUNK_STAGING_DIR unset)}"
bash "$root/web/notebook/build.sh"
mkdir -p "$staging/notebook"
cp "$root/web/notebook/dist/notebook.js" "$root/web/notebook/dist/notebook.css" "$staging/notebook/"
