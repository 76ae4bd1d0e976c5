# A cell's results are bitwise the same at 1, 2 and 4 ranks (DESIGN.md: determinism).
source "$(dirname "$0")/lib.sh"
for np in 1 2 4; do
  check "smoke grid at $np ranks" run_np $np run smoke -o np$np.h5 --log-level warn
done
check "status reads the file" bash -c "'$SL' status np1.h5 | grep -q '8 done, 0 todo'"
check "1 rank == 2 ranks, bitwise" same_results np1.h5 np2.h5
check "1 rank == 4 ranks, bitwise" same_results np1.h5 np4.h5
check "cells spread over 2 ranks" bash -c "h5dump -d /cells/rank np2.h5 | grep -q ' 1'"
# The contract (DESIGN.md): every dataset carries units and a description.
described() {
  local d n=0
  for d in $(h5ls -r "$1" | awk '$2 == "Dataset" {print $1}'); do
    h5dump -a "$d/units" "$1" >/dev/null 2>&1 || { echo "no units: $d"; return 1; }
    h5dump -a "$d/description" "$1" >/dev/null 2>&1 || { echo "no description: $d"; return 1; }
    n=$((n + 1))
  done
  echo "$n datasets described"
  [ "$n" -ge 30 ]
}
check "every dataset has units and a description" described np1.h5
finish
