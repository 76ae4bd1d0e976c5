# Preemption: SIGTERM or SIGUSR1 in the middle of cells. Every rank saves its running cell at the
# next step, the file stays readable with the finished cells done, the run exits with 75
# (SL_EXIT_INTERRUPTED), and --resume finishes with numbers equal to an uninterrupted run's.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/data/preempt.cfg
check "uninterrupted run" run_np 2 run "$CFG" -o full.h5 --checkpoint-every 0 --log-level warn
total=$(h5dump -a /n_cells full.h5 | sed -n 's/^ *(0): *//p')
n_done() { "$SL" status "$1" 2>/dev/null | sed -n 's/.*cells: \([0-9]*\) done.*/\1/p'; }

# case NAME NP HOW [run options]: start a run, wait until a cell is done, signal it, check, resume.
#   HOW: usr1-mpirun  SIGUSR1 to mpiexec (Open MPI forwards it to every rank)
#        term-ranks   SIGTERM to every rank, as SLURM signals every process of a step
#        usr1-rank1   SIGUSR1 to rank 1 only: rank 0 must learn of it through the scheduler
case_() {
  local name=$1 np=$2 how=$3
  shift 3
  local f=$name.h5
  "$MPIEXEC" -np "$np" --oversubscribe "$SL" run "$CFG" \
    -o "$f" --log-level info "$@" >"$name.log" 2>&1 &
  local pid=$! d=0
  for _ in $(seq 1 1200); do # the log, not `slingshot status`: a status call may take a second
    grep -q "done val_loss" "$name.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  sleep 0.2 # into the next cells
  d=$(grep -c "done val_loss" "$name.log")
  local ranks
  ranks=$(pgrep -P "$pid" | tr '\n' ' ')
  case $how in
  usr1-mpirun) kill -USR1 "$pid" ;;
  term-ranks) kill -TERM $ranks ;;
  usr1-rank1) kill -USR1 $(pgrep -P "$pid" -f -- "-o $f" | sort -n | tail -1) ;;
  esac
  wait "$pid"
  local rc=$?
  check "$name: exit code 75 ($rc)" test "$rc" -eq 75
  check "$name: says to rerun with --resume" grep -qi "rerun the same command with --resume" "$name.log"
  local after
  after=$(n_done "$f")
  check "$name: file readable, finished cells done ($d <= ${after:-none} < $total)" \
    test -n "$after" -a "${after:-0}" -ge "$d" -a "${after:-0}" -lt "$total"
  local n_stopped n_ckpt
  n_stopped=$(grep -c "stopped at step" "$name.log")
  n_ckpt=$(ls "$f.ckpt"/cell_*.ckpt 2>/dev/null | wc -l)
  check "$name: every running cell saved ($n_stopped stopped, $n_ckpt checkpoints)" \
    test "$n_ckpt" -ge 1 -a "$n_ckpt" -eq "$n_stopped"
  run_np "$np" run "$CFG" -o "$f" --resume --log-level info >"$name.resume.log" 2>&1
  check "$name: --resume finishes" test $? -eq 0
  check "$name: --resume continued from checkpoints" grep -q "resuming from its checkpoint" \
    "$name.resume.log"
  check "$name: resumed == uninterrupted, bitwise" same_results full.h5 "$f"
}
case_ np1_usr1 1 usr1-mpirun
case_ np2_term 2 term-ranks --checkpoint-every 0 # a signal saves even without periodic ones
case_ np2_usr1_one 2 usr1-rank1
# SIGTERM to mpiexec itself is not tested: Open MPI 4.1 passed it on to the ranks in some trials
# here and not in others (README: send SIGUSR1 to mpirun).
finish
