#!/usr/bin/env bash
# Long fuzz runs of every fuzz target, one worker each, at low priority.
#
# Each target runs in count-based chunks (-fuzztime=CHUNKx) until it has run
# MIN_SECONDS of wall time: a time-based -fuzztime ends with a spurious
# "context deadline exceeded" on this Go version (golang/go#75804). Prints one
# line per target; a crasher stops that target and is left by go test in the
# package's testdata/fuzz/TARGET/, to be kept as a named regression case.
#
#   MIN_SECONDS=180 CHUNK=50000 nice -n 19 e2e/fuzz-long.sh
set -u
export PATH="/usr/local/go/bin:$PATH"
cd "$(dirname "$0")/.."
MIN_SECONDS=${MIN_SECONDS:-100}
CHUNK=${CHUNK:-20000}
logs=$(mktemp -d)
for pkg in $(go list ./... | grep -v /e2e); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    total=0; runs=0; status=ok
    while [ "$total" -lt "$MIN_SECONDS" ]; do
      start=$(date +%s)
      go test -run='^$' -fuzz="^${target}\$" -fuzztime="${CHUNK}x" -parallel=1 "$pkg" >"$logs/$target.log" 2>&1
      rc=$?
      total=$((total + $(date +%s) - start)); runs=$((runs + 1))
      if [ $rc -ne 0 ]; then status="FAIL (rc=$rc, log $logs/$target.log)"; break; fi
    done
    echo "$pkg $target runs=$runs execs=$((runs * CHUNK)) wall=${total}s status=$status"
  done
done
