#!/usr/bin/env bash
# install-deps.sh — install the Debian packages aquacast builds and tests with, if missing.
# Idempotent and quiet when everything is already there.
set -euo pipefail
pkgs=(
  build-essential pkg-config clang-format
  unixodbc unixodbc-dev odbc-postgresql libsqliteodbc tdsodbc sqlite3
  librdkafka-dev libcurl4-openssl-dev libssl-dev libjansson-dev
  liblapacke-dev libopenblas-dev libzstd-dev zlib1g-dev
  postgresql postgresql-client redis-server
  python3-venv python3-dev
  graphviz bc
  r-base-core r-cran-forecast r-cran-jsonlite
  libmicrohttpd-dev chromium wrk yamllint curl
  maven default-jdk-headless
)
# Node.js and npm (the dashboard's build, the browser test): Debian's packages unless a node is there already.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
find_missing() {
    missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
}
find_missing
[ ${#missing[@]} -eq 0 ] && exit 0
# two at once (parallel builds, clones) would fight over dpkg's lock: one waits, then looks again
exec 9>/tmp/aquacast-install-deps.lock
flock 9
find_missing
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
$SUDO apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
rm -f "$log"
