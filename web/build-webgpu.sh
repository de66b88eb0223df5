#!/usr/bin/env bash
# Trunk post-build hook: builds the page's WebGPU module (crates/webgpu) on its own, so burn's
# wgpu feature never reaches the CPU module, and writes it to <staging>/webgpu/, from where
# the page imports it the first time WebGPU is used.
set -euo pipefail
# `cargo xtask run` serves the page before this module is built (it adds it to dist/webgpu
# itself afterwards): the page runs on wasm CPU until then.
if [ "${LOOKOUT_WEBGPU:-}" = "later" ]; then
  echo "build-webgpu.sh: WebGPU module left for later (LOOKOUT_WEBGPU=later)" >&2
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
staging="${TRUNK_STAGING_DIR:?run by trunk (TRUNK_STAGING_DIR unset)}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
offline=()
if [ "${CARGO_NET_OFFLINE:-}" = "true" ]; then offline=(--offline); fi
cargo build --manifest-path "$root/Cargo.toml" --locked "${offline[@]}" \
  --target wasm32-unknown-unknown --profile wasm -p lookout-webgpu
wasm-bindgen --target web --no-typescript --out-dir "$staging/webgpu" \
  "$target_dir/wasm32-unknown-unknown/wasm/lookout_webgpu.wasm"
