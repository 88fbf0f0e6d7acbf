#!/bin/sh
# Browser tests of the web SDK (run by scripts/test.sh after the cargo tests): builds the bundle,
# checks that the committed web/dist/huoti-liveness.js (which the server embeds) is exactly that
# build, then runs tests/*.test.mjs with node --test against a real `huoti serve` (HUOTI_BIN) in
# Debian's /usr/bin/chromium (see tests/harness.mjs).
set -eu
cd "$(dirname "$0")"
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "test.sh: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
  exit 2
}
bin="${HUOTI_BIN:-${CARGO_TARGET_DIR:-/var/tmp/huoti-target}/debug/huoti}"
[ -x "$bin" ] || { echo "test.sh: no huoti binary at $bin (cargo build --workspace, or set HUOTI_BIN)" >&2; exit 2; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "test.sh: install Debian's chromium (apt-get install chromium)" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "test.sh: ffmpeg is needed to make the fake-camera clips" >&2; exit 2; }
[ -d node_modules ] || npm ci --no-audit --no-fund

# The committed bundle must be what the sources build: the server embeds the committed file.
committed=$(mktemp)
trap 'rm -f "$committed"' EXIT
cp dist/huoti-liveness.js "$committed"
npm run build
if ! cmp -s "$committed" dist/huoti-liveness.js; then
  echo "test.sh: web/dist/huoti-liveness.js is stale: the sources build something else; commit the rebuilt file" >&2
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- dist/huoti-liveness.js; then
  echo "test.sh: web/dist/huoti-liveness.js differs from the committed one; commit the rebuilt file" >&2
  exit 1
fi

mkdir -p test-results
export HUOTI_BIN="$bin"
exec node --test --test-concurrency=1 --test-reporter=spec tests/*.test.mjs
