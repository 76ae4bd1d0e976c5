# SIGKILL in the middle of a run, then --resume: no finished cell is recomputed or lost, and the
# numbers equal an uninterrupted run's.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/data/resume.cfg
# The reference takes no checkpoints: equality below also shows they change nothing.
check "uninterrupted run" run_np 2 run "$CFG" -o full.h5 --checkpoint-every 0 --log-level warn

setsid "$MPIEXEC" -np 2 --oversubscribe "$SL" run "$CFG" -o part.h5 --checkpoint-every 100 \
  --log-level warn &
pid=$!
done_before=0
for _ in $(seq 1 600); do # wait until at least 2 cells are done, then kill everything
  done_before=$("$SL" status part.h5 2>/dev/null | sed -n 's/.*cells: \([0-9]*\) done.*/\1/p')
  [ "${done_before:-0}" -ge 2 ] && break
  sleep 0.1
done
# SIGKILL to mpiexec and every rank at once, as a node failure would (Open MPI puts the ranks in
# their own process groups, so killing mpiexec's group alone leaves them running).
pkill -KILL -f -- "-o part.h5" 2>/dev/null
wait $pid 2>/dev/null
total=$(h5dump -a /n_cells part.h5 | sed -n 's/^ *(0): *//p')
after_kill=$("$SL" status part.h5 | sed -n 's/.*cells: \([0-9]*\) done.*/\1/p')
echo "killed at $done_before done; after the kill: $after_kill of $total cells done"
check "killed mid-run (some cells done, not all)" test "${after_kill:-0}" -ge 2 -a "${after_kill:-0}" -lt "$total"
values() { h5dump -y -w 0 -A 0 -m %.17g -d "$2" "$1" | sed -n '/DATA {/,/}/p' | tr -d 'DATA{}\n ' | tr ',' '\n'; }
values part.h5 /grid/status >status_before.txt
values part.h5 /cells/wall_s >wall_before.txt

n_ckpt=$(ls part.h5.ckpt/cell_*.ckpt 2>/dev/null | wc -l)
check "running cells left checkpoints ($n_ckpt)" test "$n_ckpt" -ge 1
run_np 2 run "$CFG" -o part.h5 --resume --checkpoint-every 100 >resume.log 2>&1
check "--resume finishes the grid" test $? -eq 0
check "--resume continued cells from their checkpoints" grep -q "resuming from its checkpoint" resume.log
check "checkpoints removed once their rows are written" test ! -e part.h5.ckpt
check "status: all done" bash -c "'$SL' status part.h5 | grep -q '$total done, 0 todo'"
check "resumed == uninterrupted, bitwise" same_results full.h5 part.h5
# Cells finished before the kill kept their wall times to the last bit: they were not recomputed.
values part.h5 /cells/wall_s >wall_after.txt
kept=$(paste status_before.txt wall_before.txt wall_after.txt | awk '$1 == 1 && $2 != $3 {bad++} $1 == 1 {n++} END {print (bad ? "no" : n)}')
check "finished cells not recomputed ($kept checked)" test "$kept" != "no" -a "$kept" -ge 2
check "resume of a finished file does nothing" run_np 1 run "$CFG" -o part.h5 --resume --log-level warn
finish
