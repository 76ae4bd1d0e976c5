# Job arrays without a scheduler: slices run into part files (some at 2 ranks, one from a
# SLURM-like environment), status over the parts, merge equal to a single run, duplicates,
# refusals (config, version, disagreeing duplicate, existing output), missing cells then resume.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
check "whole grid in one run" run_np 2 run smoke -o full.h5 --log-level warn
total=$(h5dump -a /n_cells full.h5 | sed -n 's/^ *(0): *//p')

"$SL" run smoke --array-task 1 --array-count 3 --dry-run >dry.txt 2>&1
check "--dry-run shows the slice" grep -q "^slice 1 of 3 (command line): [0-9]* cells*, [0-9.]*% of the grid" dry.txt
check "slice 0 at 2 ranks" run_np 2 run smoke --array-task 0 --array-count 3 --log-level warn
# Slice 2 from a job array's environment, as sbatch --array=1-3 sets it (task ids from 1).
check "slice 2 from SLURM_ARRAY_TASK_ID/_MIN/_COUNT" env SLURM_ARRAY_TASK_ID=3 \
  SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_COUNT=3 \
  "$SL" run smoke --log-level warn
check "parts named NAME.part-I-of-K.h5" test -f smoke.part-0-of-3.h5 -a -f smoke.part-2-of-3.h5

"$SL" status smoke.part-0-of-3.h5 smoke.part-2-of-3.h5 >st.txt
cat st.txt
check "status names the missing slice" grep -q "no file given for slice 1 of 3" st.txt
check "status lists the slices to resubmit" grep -q -- "--array=1$" st.txt
check "status --array prints the list only" test "$("$SL" status --array smoke.part-*.h5)" = 1

# Missing cells: the merge reports them, leaves them todo, and --resume finishes the file.
"$SL" merge smoke.part-0-of-3.h5 smoke.part-2-of-3.h5 -o partial.h5 >m1.txt 2>&1
check "merge with a slice missing succeeds" test $? -eq 0
cat m1.txt
check "merge reports the missing cells and their slice" grep -q "resubmit --array=1 " m1.txt
left=$("$SL" status partial.h5 | sed -n 's/.*done, \([0-9]*\) todo.*/\1/p')
check "missing cells are todo in the merged file ($left)" test "${left:-0}" -ge 1
check "resume of the merged file at 2 ranks" run_np 2 run smoke -o partial.h5 --resume --log-level warn
check "resumed merged file == single run, bitwise" same_results full.h5 partial.h5

# The missing slice, resubmitted as a list (--array-count given: task id = slice index).
check "slice 1 resubmitted" env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=1 \
  SLURM_ARRAY_TASK_MAX=1 SLURM_ARRAY_TASK_COUNT=1 "$SL" run smoke --array-count 3 --resume \
  --log-level warn
check "status: nothing left" bash -c "'$SL' status smoke.part-*.h5 | grep -q 'total over 3 files: $total cells: $total done, 0 todo'"
check "status --array is empty when done" test -z "$("$SL" status --array smoke.part-*.h5)"
# An overlapping --cells part and the same part twice: identical duplicates taken once.
check "--cells 0-3 part" run_np 2 run smoke --cells 0-3 --log-level warn
cp smoke.part-2-of-3.h5 copy2.h5
"$SL" merge smoke.part-*.h5 smoke.cells-0-3.h5 copy2.h5 -o merged.h5 >m2.txt 2>&1
check "merge of the parts (with duplicates)" test $? -eq 0
cat m2.txt
check "identical duplicates taken once" grep -q " 0 missing; [1-9][0-9]* identical duplicates" m2.txt
check "merged == single run, bitwise" same_results full.h5 merged.h5
check "merged file is a normal results file (no /grid/owned)" bash -c "! h5ls merged.h5/grid | grep -q owned"
check "export reads the merged file" "$SL" export merged.h5 --csv -o merged.csv
check "export has a row per cell" test "$(($(wc -l <merged.csv) - 1))" -eq "$total"

# Refusals, each naming what differs, and no output written.
check "existing output refused without --force" bash -c "! '$SL' merge smoke.part-*.h5 -o merged.h5 2>err1.txt && grep -q 'already exists' err1.txt"
check "--force replaces it" "$SL" merge smoke.part-*.h5 -o merged.h5 --force
cat >other.cfg <<'CFG'
name = "smoke"; seed = 8;
model = { context = 6; width = 8; };
train = { batch = 32; min_steps = 40; max_steps = 300; };
eval = { tokens = 2048; points = 4; };
grid = { n_params = [600.0, 3000.0]; d_tokens = [2000.0, 8000.0]; seeds = [0, 1]; };
CFG
run_np 1 run other.cfg --array-task 1 --array-count 3 -o other1.h5 --log-level warn
check "another config refused, naming the file" bash -c "! '$SL' merge smoke.part-0-of-3.h5 other1.h5 -o bad.h5 2>err2.txt && grep -q 'other1.h5 was made with another config' err2.txt && test ! -e bad.h5"
cp smoke.part-1-of-3.h5 wrong.h5
$PY - wrong.h5 <<'PYEOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    i = int(np.flatnonzero(f["grid/owned"][:] == 1)[0])
    v = f["cells/val_loss"]
    v[i] = v[i] + 1e-9
PYEOF
check "disagreeing duplicate refused, naming cell, dataset and files" bash -c "! '$SL' merge smoke.part-1-of-3.h5 wrong.h5 -o bad.h5 2>err3.txt && grep -q 'cell [0-9]* is in smoke.part-1-of-3.h5 and in wrong.h5 with different values (/cells/val_loss differs)' err3.txt && test ! -e bad.h5"
cp smoke.part-1-of-3.h5 oldver.h5
$PY - oldver.h5 <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["slingshot_version"] = "0.0.9"
PYEOF
check "another slingshot version refused, naming the file" bash -c "! '$SL' merge smoke.part-0-of-3.h5 oldver.h5 -o bad.h5 2>err4.txt && grep -q 'oldver.h5 was written by slingshot 0.0.9' err4.txt"
check "a part resumed with another slice refused" bash -c "! '$SL' run smoke --array-task 0 --array-count 3 -o smoke.part-1-of-3.h5 --resume 2>err5.txt && grep -q 'is a part file of slice 1 of 3, but slice 0 of 3 was asked for' err5.txt"
check "merge --help" bash -c "'$SL' merge --help | grep -q 'usage: slingshot merge'"
finish
