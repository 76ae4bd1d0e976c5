# Fault injection: SIGKILL a random rank, or mpiexec with every rank (a node failure), at a random
# moment, then resume; repeat. Files alternate between a grid of single-rank cells and one with a
# large cell trained by a rank group (tests/data/groups.cfg, longer). Each trial asserts that no cell done before the kill is lost or
# recomputed (status and wall time kept to the bit), and every completed file equals an
# uninterrupted run's. SLINGSHOT_FAULT_TRIALS (default 6, about 40 s) sets the number of kills;
# SLINGSHOT_FAULT_SEED makes a sequence of kills repeatable (it is printed).
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/data/preempt.cfg
TRIALS=${SLINGSHOT_FAULT_TRIALS:-6}
SEED=${SLINGSHOT_FAULT_SEED:-$$}
RANDOM=$SEED
echo "fault test: $TRIALS trials, seed $SEED (SLINGSHOT_FAULT_SEED=$SEED repeats them)"
sed 's/min_steps = 300; max_steps = 300;/min_steps = 1000; max_steps = 1000;/' \
  "$SRC/tests/data/groups.cfg" >groups.cfg
CFGS=("$CFG" groups.cfg)
check "uninterrupted run" run_np 2 run "$CFG" -o full0.h5 --checkpoint-every 0 --log-level warn
check "uninterrupted run with a rank group" run_np 1 run groups.cfg -o full1.h5 --log-level warn
values() { h5dump -y -w 0 -A 0 -m %.17g -d "$2" "$1" | sed -n '/DATA {/,/}/p' | tr -d 'DATA{}\n ' | tr ',' '\n'; }
n_done() { "$SL" status "$1" 2>/dev/null | sed -n 's/.*cells: \([0-9]*\) done.*/\1/p'; }

f=run0.h5
files=0
lost=0
for trial in $(seq 1 "$TRIALS"); do
  CFG=${CFGS[$((files % 2))]}
  full=full$((files % 2)).h5
  total=$(h5dump -a /n_cells "$full" | sed -n 's/^ *(0): *//p')
  [ -e "$f" ] && values "$f" /grid/status >before_status.txt && values "$f" /cells/wall_s >before_wall.txt
  np=$((1 + RANDOM % 2))
  every=$((50 + RANDOM % 400))
  opts=(--checkpoint-every "$every" --log-level warn)
  [ -e "$f" ] && opts+=(--resume)
  "$MPIEXEC" -np "$np" --oversubscribe "$SL" run "$CFG" -o "$f" "${opts[@]}" >>"$f.log" 2>&1 &
  pid=$!
  delay_ms=$((300 + RANDOM % 2200))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  ranks=($(pgrep -P "$pid"))
  if [ $((RANDOM % 3)) -eq 0 ] || [ ${#ranks[@]} -eq 0 ]; then
    what="mpiexec and every rank"
    kill -KILL "$pid" "${ranks[@]}" 2>/dev/null
  else
    victim=${ranks[$((RANDOM % ${#ranks[@]}))]}
    what="rank pid $victim of $np"
    kill -KILL "$victim" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  kill -KILL "${ranks[@]}" 2>/dev/null # no orphan may write on
  sleep 0.2
  after=$(n_done "$f")
  echo "trial $trial: np $np, checkpoint every $every, killed $what after ${delay_ms} ms: ${after:-unreadable} of $total done"
  check "trial $trial: file readable after the kill" test -n "$after"
  if [ -s before_status.txt ]; then
    values "$f" /grid/status >after_status.txt
    values "$f" /cells/wall_s >after_wall.txt
    bad=$(paste before_status.txt before_wall.txt after_status.txt after_wall.txt |
      awk '$1 == 1 && ($3 != 1 || $2 != $4) {n++} END {print n + 0}')
    check "trial $trial: no cell done before the kill lost or recomputed ($bad bad)" test "$bad" -eq 0
    lost=$((lost + bad))
  fi
  rm -f before_status.txt before_wall.txt
  if [ "${after:-0}" -eq "$total" ] || [ "$trial" -eq "$TRIALS" ]; then
    # Finish the file (resume until done: a kill may have landed anywhere) and compare.
    run_np 2 run "$CFG" -o "$f" --resume --log-level warn >>"$f.log" 2>&1
    check "trial $trial: --resume completes $f" test "$(n_done "$f")" = "$total"
    check "trial $trial: $f ($CFG) == uninterrupted run, bitwise" same_results "$full" "$f"
    check "trial $trial: no checkpoint left behind" test ! -e "$f.ckpt"
    files=$((files + 1))
    f=run$files.h5
  fi
done
echo "$files files completed through $TRIALS kills; $lost finished cells lost"
finish
