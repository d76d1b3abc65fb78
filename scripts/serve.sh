#!/usr/bin/env bash
# serve.sh — make serve: aquacast-serve with the dashboard on the demo's champion (make demo first).
# The champion: the alias "champion" of the demo's local registry (demo/registry, made by make demo when
# run-2 was promoted; polled, so a later promotion is picked up), else the champion run-2 was compared
# with, demo/models/run-1 (not evaluated: no anomaly notices or accuracy then).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${DEMO_DIR:-$top/demo}
port=${SERVE_PORT:-8080}
[ -d "$DEMO/models/run-1" ] || { echo "serve: no demo in $DEMO (run make demo first)" >&2; exit 1; }
if [ -f "$DEMO/registry/aquacast-water-forecast/aliases/champion" ]; then
    src=(--tracking-uri "file:$DEMO/registry" --poll 10); why="registry alias champion (file:${DEMO#"$top"/}/registry)"
else
    src=(--set "$DEMO/models/run-1"); why="${DEMO#"$top"/}/models/run-1: run-2 was not promoted, no champion alias"
fi
echo "serve: champion from $why" >&2
echo "dashboard: http://127.0.0.1:$port/   V2: http://127.0.0.1:$port/v2/models/aquacast   metrics: http://127.0.0.1:$port/metrics"
echo "(Ctrl-C stops; SIGHUP reloads the champion)"
exec "$top/bin/aquacast-serve" "${src[@]}" --port "$port" --tariff "$top/deploy/tariff.example.json" \
    --web "$top/web/dist" ${SERVE_ARGS:-}
