#!/usr/bin/env bash
# venv.sh — make (once) and print the path of a cached Python venv for a requirements file.
# usage: scripts/venv.sh requirements/test.txt [more.txt ...]
# The venv lives in ~/.cache/aquacast/venv-<name>-<hash>, keyed by the files' content,
# so a changed pin makes a new venv and an unchanged one is reused across clones.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 REQUIREMENTS..." >&2; exit 2; }
cache=${AQUACAST_CACHE:-$HOME/.cache/aquacast}
name=$(basename "$1" .txt)
hash=$(cat "$@" | sha256sum | cut -c1-12)
venv=$cache/venv-$name-$hash
# two makers at once (parallel clones, helpers) would remove each other's half-made venv: one waits
if [ ! -f "$venv/.complete" ]; then
    mkdir -p "$cache"
    exec 9>"$venv.lock"
    flock 9
fi
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
    rm -rf "$venv"
    py=${PYTHON:-python3}
    echo "venv: creating $venv" >&2
    "$py" -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
    for f in "$@"; do
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$f" >&2
    done
    touch "$venv/.complete"
fi
echo "$venv"
