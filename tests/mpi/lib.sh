# Shared by the MPI tests: bash tests/mpi/test_X.sh SLINGSHOT MPIEXEC SOURCE_DIR
set -u
SL=$1
MPIEXEC=$2
SRC=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d /tmp/slingshot-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
failures=0
passes=0

run_np() { # run_np NP args...: slingshot under mpiexec with NP ranks
  local np=$1
  shift
  "$MPIEXEC" -np "$np" --oversubscribe "$SL" "$@"
}

ok() { echo "ok: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check "description" command...: passes when the command succeeds
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# Same numbers in two results files: every dataset, bitwise, but the per-run ones (wall time,
# rank). h5diff without a tolerance compares exactly.
same_results() {
  local a=$1 b=$2 d n=0
  for d in $(h5ls -r "$a" | awk '$2 == "Dataset" {print $1}'); do
    case $d in /cells/wall_s | /cells/rank) continue ;; esac
    h5diff "$a" "$b" "$d" "$d" >/dev/null || { echo "differs: $d"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -ge 20 ] # a file with almost nothing in it is not "the same"
}

finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
  exit $?
}
