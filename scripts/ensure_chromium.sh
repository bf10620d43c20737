#!/usr/bin/env bash
# Make sure a Chromium the dashboard test (tests/integration/test_dashboard.py) can drive headless is installed.
#
# The browser comes from the distribution's packages (Debian's `chromium`), never from a browser download of its
# own: Playwright's Python package only talks to it (launched with executable_path). Idempotent: when a browser is
# already there nothing happens. Where it cannot be installed (not root, no passwordless sudo, no apt-get) this
# script says why and exits 0; the test then skips with that reason, except under CI=true, where it fails.
#
# Usage: bash scripts/ensure_chromium.sh        (OPENQIO_CHROMIUM=/path/to/chrome to use another binary)
set -uo pipefail

for candidate in "${OPENQIO_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no /usr/bin/chromium and no apt-get here; install Chromium by hand (or set OPENQIO_CHROMIUM)" \
         "to run the dashboard browser test" >&2
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "ensure_chromium: /usr/bin/chromium is missing and installing it needs root (or passwordless sudo):" \
         "run 'apt-get install chromium' as root to enable the dashboard browser test" >&2
    exit 0
fi

echo "ensure_chromium: installing Debian's chromium package (headless browser for the dashboard test)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
    # a fresh machine has no package lists yet
    "${as_root[@]}" apt-get update -qq >/dev/null 2>&1 || true
    if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
        echo "ensure_chromium: 'apt-get install chromium' failed; the dashboard browser test will not run" >&2
        exit 0
    fi
fi
echo "ensure_chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')" >&2
