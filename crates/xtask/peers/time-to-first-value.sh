#!/usr/bin/env bash
# Time to first value, as a new user meets it: a fresh clone of this checkout's HEAD, a fresh
# CARGO_HOME (rustup's proxies only: no cargo-installed tools, an empty registry cache), a
# fresh npm cache and a fresh target dir, then README's `cargo xtask run`. Polls the page,
# the WebGPU module and the model server on 127.0.0.1:8080 and prints the seconds at which
# each first answered, then stops the run. RUSTUP_HOME (the toolchain and its wasm32 target)
# is the machine's own; there is no ../shared beside the clone, as a user has none.
# Usage: crates/xtask/peers/time-to-first-value.sh WORKDIR   (WORKDIR is emptied)
set -euo pipefail
work="${1:?usage: time-to-first-value.sh WORKDIR}"
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
rm -rf "$work"
mkdir -p "$work/cargo-home/bin" "$work/npm-cache"
git clone -q "$repo" "$work/main"
for p in cargo cargo-clippy cargo-fmt clippy-driver rustc rustdoc rustfmt rustup; do
  cp "${CARGO_HOME:-$HOME/.cargo}/bin/$p" "$work/cargo-home/bin/"
done
if curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; then
  echo "something already answers on 127.0.0.1:8080" >&2
  exit 1
fi
export CARGO_HOME="$work/cargo-home" npm_config_cache="$work/npm-cache"
export PATH="$CARGO_HOME/bin:$PATH"
unset CARGO_TARGET_DIR
cd "$work/main"
start=$(date +%s)
setsid cargo xtask run >"$work/run.log" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null || true' EXIT
page="" gpu="" server=""
while [ -z "$server" ]; do
  sleep 2
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "cargo xtask run stopped; last lines of $work/run.log:" >&2
    tail -20 "$work/run.log" >&2
    exit 1
  fi
  now=$(( $(date +%s) - start ))
  ok() { curl -fsS -o /dev/null "http://127.0.0.1:8080/$1" 2>/dev/null; }
  if [ -z "$page" ] && ok ""; then page=$now; echo "page up: ${now} s"; fi
  if [ -z "$gpu" ] && ok "webgpu/lookout_webgpu.js"; then gpu=$now; echo "WebGPU module served: ${now} s"; fi
  if [ -z "$server" ] && ok "healthz"; then server=$now; echo "lookout serve up: ${now} s"; fi
done
printf '| page up | WebGPU module | model server |\n|---|---|---|\n| %s s | %s s | %s s |\n' \
  "$page" "$gpu" "$server"
grep -E "^xtask: took" "$work/run.log" || true
