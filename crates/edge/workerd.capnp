# Runs the edge worker locally with workerd (npm `workerd`), no Cloudflare account needed:
#
#   cargo xtask edge-build                      # worker-build → crates/edge/build/
#   PUSHGATEWAY_URL=http://127.0.0.1:9091 \
#     crates/edge/node_modules/.bin/workerd serve crates/edge/workerd.capnp \
#     --socket-addr http=127.0.0.1:8787
#
# PUSHGATEWAY_URL comes from the environment (unset: no push).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "lookout", worker = .lookoutWorker),
    # The worker's outbound fetch (its pushes): local and private addresses allowed, so a
    # Pushgateway on 127.0.0.1 is reachable.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "lookout")],
);

const lookoutWorker :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "build/index.js"),
    (name = "index_bg.wasm", wasm = embed "build/index_bg.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "PUSHGATEWAY_URL", fromEnvironment = "PUSHGATEWAY_URL"),
    (name = "PUSH_JOB", text = "lookout"),
  ],
  globalOutbound = "internet",
);
