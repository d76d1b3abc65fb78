#!/usr/bin/env bash
# web.sh — build the dashboard: web/src → web/dist (app.js bundled with uPlot by esbuild, CSS, index.html).
# No CDN at run time: aquacast-serve --web web/dist serves these files only.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
nm=$("$top/scripts/node.sh")
out=$top/web/dist
tmp=$(mktemp -d "$top/web/.dist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
NODE_PATH=$nm "$nm/.bin/esbuild" "$top/web/src/app.js" --bundle --minify --format=iife --target=es2020 \
    --legal-comments=eof --outfile="$tmp/app.js" --log-level=warning
cat "$nm/uplot/dist/uPlot.min.css" "$top/web/src/style.css" >"$tmp/app.css"
cp "$top/web/src/index.html" "$tmp/index.html"
chmod 755 "$tmp"
rm -rf "$out"; mv "$tmp" "$out"; trap - EXIT
echo "web: built $out ($(du -sk "$out" | cut -f1) KiB)" >&2
