#!/usr/bin/env bash
# Trunk post-build hook: builds one of the wasm modules the page loads after it is up, on its
# own, and writes it to <staging>/DIR/, from where the page imports it:
# - lookout-webgpu → webgpu/, when WebGPU is used: built alone so burn's wgpu feature never
#   reaches the page's own module or the edge worker;
# - lookout-webcpu → webcpu/, where the browser validates relaxed SIMD: built alone so
#   lookout-cpu's `relaxed-simd` never reaches the page's own module, which every browser must
#   run (the edge worker's feature set: with the worker built it costs the last crates).
# Usage: build-module.sh PACKAGE DIR
set -euo pipefail
package="${1:?usage: build-module.sh PACKAGE DIR}"
dir="${2:?usage: build-module.sh PACKAGE DIR}"
# `cargo xtask run` serves the page before these modules are built (it adds them to dist/
# itself afterwards): the page runs on its own wasm CPU kernels until then.
if [ "${LOOKOUT_MODULES:-}" = "later" ]; then
  echo "build-module.sh: $package left for later (LOOKOUT_MODULES=later)" >&2
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
staging="${TRUNK_STAGING_DIR:?run by trunk (TRUNK_STAGING_DIR unset)}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
offline=()
if [ "${CARGO_NET_OFFLINE:-}" = "true" ]; then offline=(--offline); fi
cargo build --manifest-path "$root/Cargo.toml" --locked "${offline[@]}" \
  --target wasm32-unknown-unknown --profile wasm -p "$package"
wasm-bindgen --target web --no-typescript --out-dir "$staging/$dir" \
  "$target_dir/wasm32-unknown-unknown/wasm/${package//-/_}.wasm"
