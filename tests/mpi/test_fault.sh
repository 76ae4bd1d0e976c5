# Fault injection: SIGKILL a random rank, or mpiexec with every rank (a node failure), at a random
# moment, then resume; repeat. Files alternate between a grid of single-rank cells and one with a
# large cell trained by a rank group (tests/data/groups.cfg, longer). Each trial asserts that no cell done before the kill is lost or
# recomputed (status and wall time kept to the bit), and every completed file equals an
# uninterrupted run's. SLINGSHOT_FAULT_TRIALS (default 6, about 40 s) sets the number of kills;
# SLINGSHOT_FAULT_SEED makes a sequence of kills repeatable (it is printed). A kill that lands
# before the file is set up leaves no file, and the next trial starts it.
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
# Kills at chosen writes (tests/mpi/enospc_shim.c, SL_KILL_AT), repeatable where the random
# kills below are not: throughout a 1-rank run of groups.cfg, from the file's set-up (a
# results file is set up under NAME.create-tmp and renamed into place) to its last cell. After
# each kill, FILE is absent or readable, never half made, and --resume finishes it with the
# numbers of an uninterrupted run. A kill while --force sets up a new file leaves the old one.
cc -shared -fPIC -O1 -o shim.so "$SRC/tests/mpi/enospc_shim.c" -ldl
check "the kill shim builds" test -s shim.so
shim() { # shim VAR=VALUE... -- slingshot arguments: one rank under the shim
  local envs=()
  while [ "$1" != -- ]; do envs+=(-x "$1") && shift; done
  shift
  "$MPIEXEC" -np 1 --oversubscribe -x LD_PRELOAD="$WORK/shim.so" "${envs[@]}" "$SL" "$@" \
    >shim.log 2>&1
}
shim SL_ENOSPC_PATH=count.h5 SL_ENOSPC_LOG="$WORK/writes.txt" -- run groups.cfg -o count.h5 --log-level warn
writes=$(wc -l <writes.txt)
check "a run of groups.cfg writes its file $writes times" test "$writes" -gt 20
for n in 1 2 $((writes / 8)) $((writes / 4)) $((writes / 2)) $((3 * writes / 4)) $((writes - 1)); do
  rm -rf k.h5 k.h5.ckpt
  shim SL_ENOSPC_PATH=k.h5 SL_KILL_AT="$n" -- run groups.cfg -o k.h5 --log-level warn
  rc=$?
  state=absent
  [ -e k.h5 ] && state="$("$SL" status k.h5 2>&1 | head -1)"
  check "killed at write $n of $writes (exit $rc): k.h5 is $state" \
    bash -c "[ $rc -eq 137 ] && { [ ! -e k.h5 ] || '$SL' status k.h5 >/dev/null 2>&1; }"
  run_np 1 run groups.cfg -o k.h5 --resume --log-level warn >/dev/null 2>&1
  check "killed at write $n: --resume finishes k.h5 as an uninterrupted run" same_results full1.h5 k.h5
done
for n in 1 20; do
  cp full1.h5 old.h5
  shim SL_ENOSPC_PATH=old.h5 SL_KILL_AT="$n" -- run groups.cfg -o old.h5 --force --log-level warn
  check "killed at write $n of a --force set-up: the old file is intact" same_results full1.h5 old.h5
done

# analyze and theory --results add groups to a finished file. HDF5 rewrites metadata in place, so
# they edit a copy (FILE.edit-tmp) renamed over FILE at the end: killed at any write, FILE keeps
# every cell and stays readable, and the next analyze succeeds.
cp full1.h5 an.h5
edits=("analyze an.h5 -o rep --no-figures --log-level warn"
  "theory groups.cfg -o th.h5 --force --results an.h5 --trials 2")
for cmd in "${edits[@]}"; do
  rm -f writes.txt
  shim SL_ENOSPC_PATH=an.h5 SL_ENOSPC_LOG="$WORK/writes.txt" -- $cmd
  writes=$(cat writes.txt 2>/dev/null | wc -l)
  check "${cmd%% *} writes an.h5 $writes times" test "$writes" -gt 5
  for n in 1 $((writes / 2)) "$writes"; do
    shim SL_ENOSPC_PATH=an.h5 SL_KILL_AT="$n" -- $cmd
    rc=$?
    check "${cmd%% *} killed at write $n of $writes (exit $rc): an.h5 readable, every cell kept" \
      bash -c "[ $rc -eq 137 ] && '$SL' status an.h5 >/dev/null 2>&1 && h5ls an.h5/analysis >/dev/null" &&
      same_results full1.h5 an.h5
  done
done
"$SL" analyze an.h5 -o rep --no-figures --log-level warn >/dev/null 2>&1
rc=$?
check "analyze after the kills: exit $rc, no working copy left" \
  bash -c "[ $rc -eq 0 ] && [ ! -e an.h5.edit-tmp ] && h5ls an.h5/analysis >/dev/null"

values() { h5dump -y -w 0 -A 0 -m %.17g -d "$2" "$1" | sed -n '/DATA {/,/}/p' | tr -d 'DATA{}\n ' | tr ',' '\n'; }
n_done() { "$SL" status "$1" 2>/dev/null | sed -n 's/.*cells: \([0-9]*\) done.*/\1/p'; }

f=run0.h5
files=0
lost=0
for trial in $(seq 1 "$TRIALS"); do
  CFG=${CFGS[$((files % 2))]}
  full=full$((files % 2)).h5
  total=$(h5dump -a /n_cells "$full" | sed -n 's/^ *(0): *//p')
  existed=0
  [ -e "$f" ] && existed=1 && values "$f" /grid/status >before_status.txt &&
    values "$f" /cells/wall_s >before_wall.txt
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
  if [ -e "$f" ]; then
    echo "trial $trial: np $np, checkpoint every $every, killed $what after ${delay_ms} ms: ${after:-unreadable} of $total done"
    check "trial $trial: file readable after the kill" test -n "$after"
  else # killed before the file was set up: nothing to lose, the next trial starts it
    echo "trial $trial: np $np, killed $what after ${delay_ms} ms, before $f was set up"
    check "trial $trial: no file after the kill only if there was none before" test "$existed" -eq 0
  fi
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
