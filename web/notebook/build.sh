#!/usr/bin/env bash
# Builds the notebook's JavaScript bundle: dist/notebook.js (one self-contained ES module, CSS
# included and injected at run time) and dist/notebook.css (the same CSS, for a <link>).
#
# Needs node + npm. Runs `npm ci` (pinned versions from package-lock.json) only when
# node_modules is missing or older than package-lock.json; after that it works offline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "notebook: npm ci" >&2
  npm ci --no-audit --no-fund
fi

ESBUILD=node_modules/.bin/esbuild
if [ ! -x "$ESBUILD" ]; then
  echo "notebook: $ESBUILD missing (npm ci failed?)" >&2
  exit 1
fi

mkdir -p dist
"$ESBUILD" src/notebook.js \
  --bundle --format=esm --platform=browser --target=es2020 --minify \
  --loader:.css=text --legal-comments=none --log-level=warning \
  --outfile=dist/notebook.js

printf '@import "uplot/dist/uPlot.min.css";\n@import "./src/notebook.css";\n' \
  | "$ESBUILD" --bundle --loader=css --minify --log-level=warning \
      --sourcefile=notebook.css > dist/notebook.css.tmp \
  || { rm -f dist/notebook.css.tmp; exit 1; }
mv dist/notebook.css.tmp dist/notebook.css

size() { wc -c < "$1" | tr -d ' '; }
gzsize() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
for f in dist/notebook.js dist/notebook.css; do
  echo "notebook: $f $(size "$f") bytes, $(gzsize "$f") gzipped"
done
