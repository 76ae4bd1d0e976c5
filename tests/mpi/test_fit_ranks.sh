#!/usr/bin/env bash
# slingshot fit --csv at 1, 2 and 4 ranks prints the same results (the multi-start and the bootstrap
# are shared among the ranks, and must not change a digit).
# usage: bash test_fit_ranks.sh SLINGSHOT_BINARY MPIEXEC SOURCE_DIR
set -u
BIN=${1:?slingshot binary}
MPIEXEC=${2:?mpiexec}
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
export OPENBLAS_NUM_THREADS=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slingshot_fit_ranks.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A 6 x 6 grid of the published law with a deterministic 1% wobble (no RNG: awk's sin).
awk 'BEGIN {
  print "N,D,loss"
  for (i = 0; i < 6; i++) for (j = 0; j < 6; j++) {
    n = 1e7 * 10 ^ (3 * i / 5); d = 1e8 * 10 ^ (4 * j / 5)
    l = (1.69 + 406.4 / n ^ 0.34 + 410.7 / d ^ 0.28) * (1 + 0.01 * sin(7 * i + 3 * j + 1))
    printf "%.9g,%.9g,%.9g\n", n, d, l
  }
}' > "$WORK/runs.csv"

status=0
for np in 1 2 4; do
  extra=""
  if [ "$np" -eq 4 ]; then extra="--oversubscribe"; fi
  if ! "$MPIEXEC" -np "$np" $extra "$BIN" fit --csv "$WORK/runs.csv" --bootstrap 24 --seed 5 \
      > "$WORK/out$np.txt" 2> "$WORK/err$np.txt"; then
    echo "FAIL: slingshot fit at $np rank(s) exited non-zero:"
    cat "$WORK/err$np.txt"
    status=1
    continue
  fi
  if ! grep -q "^alpha" "$WORK/out$np.txt" || ! grep -q "^a_N" "$WORK/out$np.txt"; then
    echo "FAIL: at $np rank(s) the output lacks the parameter or frontier table:"
    cat "$WORK/out$np.txt"
    status=1
  fi
done
[ "$status" -eq 0 ] || exit 1

for np in 2 4; do
  if ! diff -u "$WORK/out1.txt" "$WORK/out$np.txt"; then
    echo "FAIL: slingshot fit prints different results at 1 and $np ranks"
    status=1
  fi
done

# A bad table fails with a message and a non-zero exit at 2 ranks too (no hang, no silent pass).
printf 'N,D,loss\n1e7,1e9,oops\n' > "$WORK/bad.csv"
if "$MPIEXEC" -np 2 "$BIN" fit --csv "$WORK/bad.csv" > /dev/null 2> "$WORK/bad.txt"; then
  echo "FAIL: a table with a non-numeric cell did not fail"
  status=1
elif ! grep -q "rows" "$WORK/bad.txt" && ! grep -q "not a number" "$WORK/bad.txt"; then
  echo "FAIL: the error for a bad table does not say what is wrong:"
  cat "$WORK/bad.txt"
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "ok: slingshot fit prints identical results at 1, 2 and 4 ranks"
  sed -n '1,16p' "$WORK/out1.txt"
fi
exit "$status"
