# slingshot theory: the Monte Carlo's numbers (and everything else in the file) are identical at
# 1, 2 and 4 ranks; --help works; bad options are refused; /theory goes into a results file.
. "$(dirname "$0")/lib.sh"

args="--theta 0.05,0.1 --k 2,4 --skills 40 --pieces 400 --trials 7 --seed 5"
for np in 1 2 4; do
  check "theory at $np ranks" run_np "$np" theory $args -o "t$np.h5"
done
for np in 2 4; do
  same=1
  for d in $(h5ls -r t1.h5 | awk '$2 == "Dataset" {print $1}'); do
    h5diff t1.h5 "t$np.h5" "$d" "$d" >/dev/null || { echo "differs: $d"; same=0; }
  done
  n=$(h5ls -r t1.h5 | awk '$2 == "Dataset"' | wc -l)
  check "1 and $np ranks identical ($n datasets)" test "$same" = 1 -a "$n" -ge 14
done
check "Monte Carlo present" sh -c "h5ls -r t1.h5 | grep -q '/mc/adv_min'"
check "--help" sh -c "'$SL' theory --help | grep -q 'union-bound'"
check "refuses an existing output" sh -c "! \"$MPIEXEC\" -np 1 \"$SL\" theory -o t1.h5 2>err.txt"
check "... saying --force" grep -q -- "--force" err.txt
check "refuses a bad --log-level, naming the choices" sh -c \
  "! '$SL' theory --log-level loud -o x.h5 2>err3.txt && grep -q 'choose error, warn, info or debug' err3.txt && [ ! -e x.h5 ]"
check "--log-level warn silences the Monte Carlo's progress" sh -c \
  "'$SL' theory --trials 2 --log-level warn -o quiet.h5 2>err4.txt && ! grep -q 'Monte Carlo k' err4.txt"
check "refuses a bad theta" sh -c "! '$SL' theory --theta 1.5 -o x.h5 2>err2.txt && grep -q 'theta' err2.txt"
check "into a results file and a report" run_np 1 theory $args -o t5.h5 --results t1.h5 --report rep
check "/theory written" sh -c "h5ls -r t1.h5 | grep -q '^/theory/fraction'"
check "report written" test -s rep/theory.md
finish
