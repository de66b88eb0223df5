#!/usr/bin/env bash
# Trunk post-build hook: builds the notebook and writes it to <staging>/notebook/, from where
# the page imports it the first time the notebook is opened:
# - its wasm module (crates/notebook: leptos components over lookout-dashboard and
#   lookout-datasource), built on its own so the page's first load stays small;
# - its JavaScript (web/notebook: CodeMirror 6 + codemirror-promql 0.42 + uPlot, pinned in
#   package-lock.json, bundled by esbuild).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
staging="${TRUNK_STAGING_DIR:?run by trunk (TRUNK_STAGING_DIR unset)}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
offline=()
if [ "${CARGO_NET_OFFLINE:-}" = "true" ]; then offline=(--offline); fi
cargo build --manifest-path "$root/Cargo.toml" --locked "${offline[@]}" \
  --target wasm32-unknown-unknown --profile wasm -p lookout-notebook
mkdir -p "$staging/notebook"
wasm-bindgen --target web --no-typescript --out-dir "$staging/notebook" \
  "$target_dir/wasm32-unknown-unknown/wasm/lookout_notebook.wasm"
bash "$root/web/notebook/build.sh"
cp "$root/web/notebook/dist/notebook.js" "$root/web/notebook/dist/notebook.css" "$staging/notebook/"
