#!/bin/sh
# System packages the test suite and benchmarks need: headless Chromium and its driver for the
# studio's browser tests, wrk and hey for bench/api_bench.py, mount for the reliability tests
# that fill a small tmpfs (they mount one as root), and PostgreSQL's server binaries for the
# tests and benchmarks that start a real server (initdb in a temporary folder; Debian's package
# also creates the unprivileged `postgres` user the server runs as when the tests run as root).
# Idempotent and quiet: installs only what is missing. Run as root (or with sudo) on Debian/Ubuntu.
set -eu

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v hey >/dev/null 2>&1 || missing="$missing hey"
command -v mount >/dev/null 2>&1 || missing="$missing mount"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"

if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    echo "installing:$missing"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086  # the package list is meant to split into words
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

python -c "import selenium" 2>/dev/null || python -m pip install -q "selenium>=4.15"
