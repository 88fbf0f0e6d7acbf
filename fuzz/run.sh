#!/usr/bin/env bash
# Coverage-guided fuzzing of huoti's parsers of outside bytes (issue 19), on demand, never in CI.
#
#   fuzz/run.sh [RUNS] [TARGET…]        e.g. fuzz/run.sh 1000000 y4m image_decode
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz (installed
# here on first use from crates.io). Each target runs RUNS inputs (default 10^6) from its corpus
# in fuzz/corpus/<target>/ (kept between runs, not committed); a crasher lands in
# fuzz/artifacts/<target>/ and the run stops with its path. Make every crasher a regression
# test in the crate that owns the parser (CI runs those), then fix it.
#
# Targets and what they build (features of fuzz/Cargo.toml, so one group builds alone):
#   y4m             media   huoti_media::Y4mReader: header and frames
#   image_decode    vision  huoti_vision::decode_image (frame and default limits), the JPEG
#                           header peek the memory budget reserves from
#   json_bodies     server  every JSON request body type, then the handlers' pure checks
#   query           server  query strings into every query type a route takes
#   authorization   server  the Authorization header (bearer, API key id/secret), huoti-purpose
#   jws             server  the signed-verdict verifier (huoti verify, the SDK's users)
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-1000000}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(y4m image_decode json_bodies query authorization jws)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
feature_of() { case $1 in y4m) echo media;; image_decode) echo vision;; *) echo server;; esac; }
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
for t in "${targets[@]}"; do
  f=$(feature_of "$t")
  mkdir -p "corpus/$t"
  echo "== $t ($runs inputs, feature $f)"
  cargo +nightly fuzz run --no-default-features --features "$f" "$t" "corpus/$t" -- \
    -runs="$runs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tee "fuzz-$t.log" | grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY|Test unit written)' || true
  if grep -q 'Test unit written' "fuzz-$t.log"; then echo "crasher in $t: see fuzz-$t.log" >&2; exit 1; fi
done
