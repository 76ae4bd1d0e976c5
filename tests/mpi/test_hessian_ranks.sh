#!/usr/bin/env bash
# The ScaLAPACK spectrum (src/measure/hessian.c) at 2 and 4 ranks: the CUnit program
# tests/unit/test_hessian.c runs on every rank; its spectrum tests distribute the Hessian of a
# tiny MLP and random symmetric matrices block-cyclically over a 1 x P BLACS grid on
# MPI_COMM_WORLD and check the eigenvalues against LAPACK's dsyevd on the whole matrix (1 rank
# is the ctest case unit.test_hessian). Built next to the slingshot binary, in tests/.
# usage: bash test_hessian_ranks.sh SLINGSHOT_BINARY MPIEXEC SOURCE_DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

TEST_BIN=$(dirname "$SL")/tests/test_hessian

run_ranks() { # run_ranks NP: the test program under mpiexec, its output kept for a failure
  local np=$1
  if "$MPIEXEC" -np "$np" --oversubscribe "$TEST_BIN" > "out$np.txt" 2>&1; then
    local runs
    runs=$(grep -c "^               tests" "out$np.txt")
    [ "$runs" -eq "$np" ] && ! grep -q "FAILED" "out$np.txt" \
      && grep -q "max |scalapack - dsyevd|" "out$np.txt"
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
  check "ScaLAPACK eigenvalues at $np ranks equal dsyevd on one" run_ranks "$np"
done
finish
