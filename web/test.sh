#!/bin/sh
# Browser tests of the web SDK: builds the bundle, then runs tests/*.test.mjs with node --test
# (Debian's /usr/bin/chromium + a real `huoti serve`; see tests/harness.mjs).
set -eu
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
mkdir -p test-results
bin="${HUOTI_BIN:-/var/tmp/huoti-target/debug/huoti}"
[ -x "$bin" ] || { echo "test.sh: no huoti binary at $bin (cargo build, or set HUOTI_BIN)" >&2; exit 2; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "test.sh: install Debian's chromium (see ../shared/TESTING.md)" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "test.sh: ffmpeg is needed to make the fake-camera clip" >&2; exit 2; }
exec node --test --test-concurrency=1 --test-reporter=spec tests/*.test.mjs
