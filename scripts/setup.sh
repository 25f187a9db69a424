#!/usr/bin/env bash
# Set up a Debian 12 machine for Gongjian: system packages, .venv, Python packages.
# Idempotent and quick when everything is already in place; safe to run before every command.
set -euo pipefail

cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(chromium fonts-noto-cjk ghostscript libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 mupdf-tools postgresql poppler-utils qpdf wrk zbar-tools)
VENV=.venv
STAMP="$VENV/.requirements.sha256"

log() { printf '[setup] %s\n' "$*"; }

# --- system packages (apt-get only when something is missing) ---------------------------
if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [[ "$status" == installed ]] || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        log "installing system packages: ${missing[*]}"
        if [[ $(id -u) -eq 0 ]]; then
            SUDO=()
        elif command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            log "missing ${missing[*]} and not root (no sudo): install them with apt-get as root" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        "${SUDO[@]}" apt-get update -q
        "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
    fi
else
    log "no dpkg-query (not Debian?): make sure ${SYSTEM_PACKAGES[*]} are installed" >&2
fi

# --- virtual environment (Python 3.11+) ----------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    PYTHON=""
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PYTHON=$candidate
            break
        fi
    done
    if [[ -z "$PYTHON" ]]; then
        log "Python 3.11 or newer is required (apt-get install python3 python3-venv)" >&2
        exit 1
    fi
    if ! "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 &&
        [[ $(id -u) -eq 0 ]]; then
        log "installing python3-venv"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv </dev/null
    fi
    log "creating $VENV with $($PYTHON --version)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    rm -f "$STAMP"
fi

# --- Python packages (only when the requirements changed since the last install) --------
wanted=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
    log "installing Python packages from requirements-dev.txt"
    "$VENV/bin/python" -m pip install -q -r requirements-dev.txt
    echo "$wanted" >"$STAMP"
fi

# --- axe-core for the accessibility checks of the browser tests (npm; never served to users) --
AXE_DIR=tests/a11y
AXE_STAMP="$AXE_DIR/node_modules/.lock.sha256"
axe_wanted=$(sha256sum "$AXE_DIR/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$AXE_STAMP" || "$(cat "$AXE_STAMP")" != "$axe_wanted" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        log "installing npm"
        if [[ $(id -u) -eq 0 ]]; then NPM_SUDO=(); else NPM_SUDO=(sudo); fi
        DEBIAN_FRONTEND=noninteractive "${NPM_SUDO[@]}" apt-get update -q
        DEBIAN_FRONTEND=noninteractive "${NPM_SUDO[@]}" apt-get install -y -q --no-install-recommends npm </dev/null
    fi
    log "installing axe-core from $AXE_DIR/package-lock.json"
    npm ci --prefix "$AXE_DIR" --no-audit --no-fund --silent
    echo "$axe_wanted" >"$AXE_STAMP"
fi

# --- PDF fonts: Noto Sans CJK SC subset to GBK into fonts/ (built once per font build, about a minute; git-ignored) --
"$VENV/bin/python" -m exports.fonts
