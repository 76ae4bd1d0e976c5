# Divergence (issue 3): a NaN or Inf in the loss or gradients ends that cell with status diverged
# and its step recorded; the grid goes on and the run succeeds.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/tests/data/diverge.cfg
run_np 2 run "$CFG" -o div.h5 --log-level warn >out.txt 2>err.txt
check "a grid with diverging cells completes (exit 0)" test $? -eq 0
check "status counts them as diverged" bash -c "'$SL' status div.h5 | grep -q '0 done, 0 todo, 2 diverged, 0 failed'"
steps=$(h5dump -y -w 0 -A 0 -d /cells/diverged_step div.h5 | sed -n '/DATA {/,/}/p' | tr -d 'DATA{}\n ')
check "diverged steps recorded ($steps)" bash -c "echo '$steps' | grep -Eq '^[0-9]+,[0-9]+$'"
check "the reason is in /grid/error" bash -c "h5dump -d /grid/error div.h5 | grep -q 'diverged at step'"
run_np 1 run "$CFG" -o div.h5 --resume --log-level info >out.txt 2>err.txt
check "--resume does not retry diverged cells" grep -q "(2 already finished)" err.txt
finish
