# The MPI layout in slingshot run's up-front checks: memory per node against the ranks placed on
# it, more ranks than cells, and every problem (memory, disk) reported at once, on every rank
# count with a non-zero exit on all ranks (no hang) and nothing written.
source "$(dirname "$0")/lib.sh"
cat >one.cfg <<'CFG'
name = "one"; eval = { tokens = 256; points = 2; };
grid = { n_params = [600.0]; d_tokens = [2000.0]; };
train = { min_steps = 5; max_steps = 5; };
CFG
# The largest cell's memory as the dry run reports it, in bytes (KiB or MiB).
mem=$("$SL" run one.cfg --dry-run | awk '$1 == "0" { v = $7; u = $8 }
  END { m = u == "MiB" ? 1048576 : u == "KiB" ? 1024 : 1; printf "%.0f", v * m }')
check "the dry run reports the cell's memory ($mem bytes)" test "${mem:-0}" -gt 1000
# 1.5 cells' worth on the node: one rank fits, two ranks of the node do not.
budget=$((mem * 3 / 2))
export SLINGSHOT_MEM_AVAILABLE=$budget
timeout 120 "$MPIEXEC" -np 1 "$SL" run one.cfg -o r1.h5 --log-level warn >out.txt 2>err.txt
check "1 rank with 1.5x the cell's memory runs" bash -c "[ $? -eq 0 ] && [ -s r1.h5 ]"
timeout 120 "$MPIEXEC" -np 2 --oversubscribe "$SL" run one.cfg -o r2.h5 >out.txt 2>err.txt
rc=$?
check "2 ranks on a node with 1.5x the cell's memory refused (exit $rc, not a hang)" \
  bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ ! -e r2.h5 ]"
check "the message names the ranks of the node and what to change" grep -q \
  "needs .* on each of the 2 ranks of node $(hostname) (first rank 0), .* in all, but .* is available: run fewer ranks per node" \
  err.txt
check "the error is printed once" test "$(grep -c 'error:' err.txt)" -eq 1
unset SLINGSHOT_MEM_AVAILABLE

# More ranks than cells: said, and the run still completes.
timeout 120 "$MPIEXEC" -np 3 --oversubscribe "$SL" run one.cfg -o r3.h5 --log-level warn \
  >out.txt 2>err.txt
check "3 ranks for 1 cell: a warning, and the run completes" bash -c "[ $? -eq 0 ] &&
  grep -q 'warning: 3 ranks for 1 cell: 2 ranks will have nothing to do; run with at most 1 rank' err.txt &&
  '$SL' status r3.h5 | grep -q '1 done'"

# Every problem at once: too little memory AND too little disk (a real 1 MiB tmpfs when this
# machine lets us mount one; a tiny free-space report otherwise is not possible, so skip).
mkdir -p small
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs small 2>/dev/null; then
  trap 'umount "$WORK/small" 2>/dev/null; rm -rf "$WORK"' EXIT
  for np in 1 2; do
    SLINGSHOT_MEM_AVAILABLE=1000 timeout 120 "$MPIEXEC" -np $np --oversubscribe "$SL" run one.cfg \
      -o small/r.h5 >out.txt 2>err.txt
    rc=$?
    check "memory and disk problems reported together at $np ranks (exit $rc)" bash -c \
      "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'but 1000 B is available' err.txt &&
       grep -q \"the results file needs about .* (the run asks for .* free: .*) but 'small' has .* free\" err.txt &&
       [ \$(grep -c 'error:' err.txt) -eq 1 ] && [ ! -e small/r.h5 ]"
  done
  umount small
else
  echo "skip: the disk half of 'every problem at once' (cannot mount a small tmpfs here)"
fi
finish
