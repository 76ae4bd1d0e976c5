# Rank groups (include/slingshot/dp.h): a large cell trained data-parallel by 2 and 4 ranks gives
# bitwise the same row as on 1 rank (the shard gradients are summed exactly), and its loss curve
# equals that of ordinary unsharded training (grid.group_size = 1) to relative 1e-4, the
# floating-point reordering of a batch mean computed as a mean of shard means.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/data/groups.cfg
for np in 1 2 4; do
  run_np $np run "$CFG" -o g$np.h5 --log-level info >g$np.log 2>&1
  check "group run on $np ranks" test $? -eq 0
done
check "2 ranks: the large cell was trained by a group of 2" grep -q "group of 2 ranks" g2.log
check "4 ranks: the large cell was trained by a group of 4" grep -q "group of 4 ranks" g4.log
check "group of 2 == 1 rank, bitwise" same_results g1.h5 g2.h5
check "group of 4 == 1 rank, bitwise" same_results g1.h5 g4.h5
sed 's/group_size = 4;/group_size = 1;/' "$CFG" >plain.cfg
check "unsharded run" run_np 1 run plain.cfg -o plain.h5 --log-level warn
values() { h5dump -y -w 0 -A 0 -m %.17g -d "$2" "$1" | sed -n '/DATA {/,/}/p' | tr -d 'DATA{}\n ' | tr ',' '\n'; }
values g4.h5 /curves/loss >g.txt
values plain.h5 /curves/loss >p.txt
worst=$(paste g.txt p.txt | awk '{d = $1 - $2; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > w) w = r} END {printf "%.3g", w}')
echo "largest relative difference of the loss curves, group of 4 vs unsharded: $worst"
check "loss curves within relative 1e-4 of unsharded training ($worst)" \
  awk -v w="$worst" 'BEGIN {exit !(w <= 1e-4)}'
check "curves compared: $(grep -c . g.txt) points" test "$(grep -c . g.txt)" -ge 16
# Preemption of a group: SIGUSR1 to one member (not the root) once the cell's first periodic
# checkpoint exists, i.e. mid-cell; every member stops at the same step, the root saves it, and a
# resume on another number of ranks equals an uninterrupted 1-rank run bitwise.
sed 's/min_steps = 300; max_steps = 300;/min_steps = 1000; max_steps = 1000;/' "$CFG" >long.cfg
check "uninterrupted long run" run_np 1 run long.cfg -o long_ref.h5 --log-level warn
"$MPIEXEC" -np 3 --oversubscribe "$SL" run long.cfg -o long.h5 --checkpoint-every 100 \
  --log-level info >long.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  ls long.h5.ckpt/cell_1.ckpt >/dev/null 2>&1 && break
  sleep 0.05
done
kill -USR1 "$(pgrep -P "$pid" | sort -n | tail -1)"
wait "$pid"
check "group preempted: exit code 75" test $? -eq 75
check "group preempted: the root saved the large cell" grep -q "cell 1 stopped at step" long.log
run_np 2 run long.cfg -o long.h5 --resume --log-level info >long_resume.log 2>&1
check "group resumed on 2 ranks from the checkpoint" grep -q "cell 1: resuming from its checkpoint" long_resume.log
check "group preempted and resumed == uninterrupted 1-rank run, bitwise" same_results long_ref.h5 long.h5
sed 's/batch = 32;/batch = 30;/' "$CFG" >bad.cfg
run_np 1 run bad.cfg -o bad.h5 >bad.log 2>&1
check "a batch not divisible by grid.group_size is refused" grep -q "not a multiple of grid.group_size" bad.log
finish
