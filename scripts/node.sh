#!/usr/bin/env bash
# node.sh — make (once) and print the path of the cached node_modules of web/package.json + package-lock.json.
# The tree lives in ~/.cache/aquacast/node-<hash>/node_modules, keyed by the two files' content (npm ci,
# npm's own cache in ~/.cache/aquacast/npm): the dashboard's build (esbuild, uPlot) and the browser
# test (playwright-core, driving Debian's /usr/bin/chromium — no browser is downloaded).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${AQUACAST_CACHE:-$HOME/.cache/aquacast}
hash=$(cat "$top/web/package.json" "$top/web/package-lock.json" | sha256sum | cut -c1-12)
dir=$cache/node-$hash
if [ ! -f "$dir/.complete" ]; then
    command -v npm >/dev/null || { echo "node.sh: npm missing (Debian nodejs, npm; scripts/install-deps.sh)" >&2; exit 1; }
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$top/web/package.json" "$top/web/package-lock.json" "$dir/"
    echo "node: npm ci into $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --cache "$cache/npm" >&2)
    touch "$dir/.complete"
fi
echo "$dir/node_modules"
