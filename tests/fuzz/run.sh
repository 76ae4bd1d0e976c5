#!/usr/bin/env bash
# Runs the libFuzzer harnesses for a bounded time each; exits non-zero if any finds a crash.
#   bash tests/fuzz/run.sh BUILD_DIR SECONDS [fuzz_config fuzz_csv]
# BUILD_DIR is configured with -DCMAKE_C_COMPILER=clang -DSLINGSHOT_FUZZ=ON (built here if
# needed). The seed corpus: experiments/*.cfg and tests/data/*.cfg for the config parser,
# tests/fuzz/seeds/*.csv for the CSV reader. New inputs go to BUILD_DIR/fuzz-corpus/NAME (kept
# between runs), crashing inputs to BUILD_DIR/fuzz-crash/NAME-*: turn those into regression
# tests (tests/unit/test_fuzz_regress.c feeds them back).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: run.sh BUILD_DIR SECONDS [fuzzer...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [fuzzer...]}
shift 2
fuzzers=("$@")
[ ${#fuzzers[@]} -eq 0 ] && fuzzers=(fuzz_config fuzz_csv)
cmake --build "$build" --target "${fuzzers[@]}" >/dev/null
export LSAN_OPTIONS="suppressions=$src/tests/fuzz/lsan.supp:print_suppressions=0"
status=0
for f in "${fuzzers[@]}"; do
  corpus=$build/fuzz-corpus/$f
  seeds=$build/fuzz-seeds/$f
  mkdir -p "$corpus" "$seeds" "$build/fuzz-crash"
  case $f in
  fuzz_config) cp "$src"/experiments/*.cfg "$src"/tests/data/*.cfg "$seeds"/ ;;
  fuzz_csv) cp "$src"/tests/fuzz/seeds/*.csv "$seeds"/ ;;
  esac
  log=$build/fuzz-$f.log
  echo "fuzz: $f for $secs s (log $log)"
  if "$build/tests/fuzz/$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$build/fuzz-crash/$f-" \
    "$corpus" "$seeds" >"$log" 2>&1; then
    echo "fuzz: $f: no crash, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
      grep -o '[0-9]*$') executions"
  else
    echo "fuzz: $f FAILED (a crash or a sanitizer report); the end of its log:"
    tail -40 "$log"
    ls "$build"/fuzz-crash/"$f"-* 2>/dev/null || true
    status=1
  fi
done
exit $status
