#!/usr/bin/env bash
# valgrind memcheck of `slingshot run` at 1 rank: no memory errors and no definite leaks (Open MPI's
# own, listed with reasons in openmpi.supp, suppressed).
#   bash tests/valgrind/run.sh SLINGSHOT MPIEXEC SOURCE_DIR [CONFIG]   (CONFIG: smoke by default)
# Prints valgrind's ERROR SUMMARY line and "N passed, M failed"; exits non-zero on any error.
set -u
SL=$1
MPIEXEC=$2
SRC=$3
CFG=${4:-smoke}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_mca_base_component_disable_dlclose=1 # plugin frames keep their names
WORK=$(mktemp -d /tmp/slingshot-valgrind.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
passes=0
failures=0
"$MPIEXEC" -np 1 valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=40 \
  --suppressions="$SRC/tests/valgrind/openmpi.supp" --log-file=vg.log \
  "$SL" run "$CFG" -o vg.h5 --log-level warn >out.txt 2>err.txt
rc=$?
summary=$(grep -m1 'ERROR SUMMARY' vg.log)
echo "valgrind: ${summary#==*== }"
grep -m1 'definitely lost:' vg.log | sed 's/^==[0-9]*== /valgrind: /'
if [ $rc -eq 0 ] && echo "$summary" | grep -q 'ERROR SUMMARY: 0 errors'; then
  echo "ok: memcheck of slingshot run $CFG at 1 rank: no errors, no definite leaks"
  passes=$((passes + 1))
else
  echo "FAIL: memcheck of slingshot run $CFG (exit $rc):"
  grep -v '^==[0-9]*== *$' vg.log | tail -60
  cat err.txt
  failures=$((failures + 1))
fi
if "$SL" status vg.h5 | grep -q ' 0 todo, 0 diverged, 0 failed'; then
  echo "ok: the run under valgrind finished every cell"
  passes=$((passes + 1))
else
  echo "FAIL: the run under valgrind did not finish its grid"
  failures=$((failures + 1))
fi
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
