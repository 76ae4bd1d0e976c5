#!/usr/bin/env bash
# Distributed distinct n-gram counting (src/corpus/unique_mpi.c) at 2 and 4 ranks: the CUnit
# program tests/unit/test_unique_mpi.c checks on every rank that the exact counts equal and the
# HyperLogLog estimates bitwise equal the serial sl_corpus_count_unique of the whole corpus, for
# even and uneven splits. It is built next to the slingshot binary, in tests/.
# usage: bash test_unique_ranks.sh SLINGSHOT_BINARY MPIEXEC SOURCE_DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

TEST_BIN=$(dirname "$SL")/tests/test_unique_mpi

run_ranks() { # run_ranks NP: the test program under mpiexec, its output kept for a failure
  local np=$1
  if "$MPIEXEC" -np "$np" --oversubscribe "$TEST_BIN" > "out$np.txt" 2>&1; then
    # every rank's CUnit summary must report no failed test
    local runs
    runs=$(grep -c "^               tests" "out$np.txt")
    [ "$runs" -eq "$np" ] && ! grep -q "FAILED" "out$np.txt"
  else
    echo "exit status non-zero at $np ranks; output:"
    tail -n 40 "out$np.txt"
    return 1
  fi
}

if [ ! -x "$TEST_BIN" ]; then
  fail "test program $TEST_BIN is not built"
  finish
fi
for np in 2 4; do
  check "distributed counts at $np ranks equal the serial counts" run_ranks "$np"
done
finish
