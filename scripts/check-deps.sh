#!/usr/bin/env bash
# check-deps.sh — is everything that a test, the demo or a bench uses installed? One TAP line each:
# "not ok - dep: … missing (Debian package P; scripts/install-deps.sh)" for each missing one, and
# one "ok - dependencies: N present" line.
# tests/run.sh runs it first, so a fresh machine that lacks a package fails naming it, instead
# of a test failing later with an opaque subprocess error. Exit 1 when anything is missing.
#
#   scripts/check-deps.sh [VENV]    VENV: the Python test venv (scripts/venv.sh requirements/test.txt)
set -uo pipefail
cd "$(dirname "$0")/.."
venv=${1:-}
missing=0 present=0
ok() { present=$((present + 1)); [ -z "${VERBOSE:-}" ] || echo "# present: $1"; }
nok() { echo "not ok - dep: $1"; missing=$((missing + 1)); }

# command, Debian package that provides it
cmds=(
    "cc build-essential" "make build-essential" "pkg-config pkg-config"
    "sqlite3 sqlite3" "odbcinst unixodbc" "psql postgresql-client"
    "java default-jdk-headless" "mvn maven" "Rscript r-base-core"
    "python3 python3" "dot graphviz" "bc bc" "timeout coreutils" "sha256sum coreutils"
    "setsid util-linux" "flock util-linux" "redis-server redis-server"
    "chromium chromium" "wrk wrk" "yamllint yamllint" "curl curl" "node nodejs" "npm npm"
)
for c in "${cmds[@]}"; do
    set -- $c
    if command -v "$1" >/dev/null 2>&1; then ok "command '$1'"; else nok "command '$1' missing (Debian $2; scripts/install-deps.sh)"; fi
done
# PostgreSQL's server binaries live outside PATH
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then ok "postgresql server (initdb, pg_ctl)"; else nok "postgresql server missing (Debian postgresql)"; fi

# pkg-config modules the Makefile links, with their -dev packages
mods=(
    "odbc unixodbc-dev" "rdkafka librdkafka-dev" "libcurl libcurl4-openssl-dev" "jansson libjansson-dev"
    "lapacke liblapacke-dev" "openblas libopenblas-dev" "libzstd libzstd-dev" "zlib zlib1g-dev"
    "libcrypto libssl-dev" "libmicrohttpd libmicrohttpd-dev"
)
for m in "${mods[@]}"; do
    set -- $m
    if pkg-config --exists "$1" 2>/dev/null; then ok "library '$1'"; else nok "library '$1' missing (Debian $2; scripts/install-deps.sh)"; fi
done

# ODBC drivers registered with unixODBC
drivers=$(odbcinst -q -d 2>/dev/null)
for d in "SQLite3 libsqliteodbc" "PostgreSQL Unicode odbc-postgresql"; do
    name=${d% *}; pkg=${d##* }
    if grep -qF "[$name]" <<<"$drivers"; then ok "ODBC driver '$name'"; else nok "ODBC driver '$name' missing (Debian $pkg)"; fi
done

# R packages: every library() in the repository's R files
rpkgs=$(grep -rhoE 'library\(([A-Za-z0-9.]+)\)' --include='*.R' tests bench scripts 2>/dev/null | sed -E 's/library\((.*)\)/\1/' | sort -u)
if command -v Rscript >/dev/null 2>&1; then
    for p in $rpkgs; do
        if Rscript -e "if (!requireNamespace('$p', quietly = TRUE)) quit(status = 1)" >/dev/null 2>&1; then
            ok "R package '$p'"
        else
            nok "R package '$p' missing (Debian r-cran-$(tr '[:upper:]' '[:lower:]' <<<"$p"); scripts/install-deps.sh)"
        fi
    done
else
    for p in $rpkgs; do nok "R package '$p' (Rscript missing)"; done
fi

# Python modules of the test venv: every top-level import in tests/ (standard library excluded)
if [ -n "$venv" ]; then
    n=$("$venv/bin/python" - <<'PY'

import ast, pathlib, sys, importlib.util
mods = set()
for f in list(pathlib.Path("tests").rglob("*.py")):
    # a file run by another venv says so in its first lines ("venv: requirements/mlflow.txt")
    head = "".join(f.read_text().splitlines(True)[:5])
    if "venv: requirements/" in head and "venv: requirements/test.txt" not in head:
        continue
    for node in ast.walk(ast.parse(f.read_text(), str(f))):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module.split(".")[0])
local = {p.stem for p in pathlib.Path("tests").rglob("*.py")}
bad = good = 0
for m in sorted(mods - set(sys.stdlib_module_names) - local):
    if importlib.util.find_spec(m) is None:
        print(f"not ok - dep: python module '{m}' missing from the test venv (requirements/test.txt)")
        bad += 1
    else:
        good += 1
print(f"{good} {bad}")
PY
)
    [ -n "$n" ] || { nok "the test venv's python does not run ($venv)"; n="0 0"; }
    echo "$n" | grep -E '^not ok' || true
    set -- $(echo "$n" | tail -n 1)
    present=$((present + $1)); missing=$((missing + $2))
fi
if [ "$missing" -eq 0 ]; then echo "ok - dependencies: $present tools, libraries, drivers and packages present"; fi
[ "$missing" -eq 0 ]
