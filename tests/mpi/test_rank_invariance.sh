# A cell's results are bitwise the same at 1, 2 and 4 ranks (DESIGN.md: determinism).
source "$(dirname "$0")/lib.sh"
for np in 1 2 4; do
  check "smoke grid at $np ranks" run_np $np run smoke -o np$np.h5 --log-level warn
done
check "status reads the file" bash -c "'$SL' status np1.h5 | grep -q '8 done, 0 todo'"
check "1 rank == 2 ranks, bitwise" same_results np1.h5 np2.h5
check "1 rank == 4 ranks, bitwise" same_results np1.h5 np4.h5
check "cells spread over 2 ranks" bash -c "h5dump -d /cells/rank np2.h5 | grep -q ' 1'"
# The loss falls with D at every N, and with N at the largest D (the smoke grid already learns).
check "every dataset has units and a description" bash -c \
  "[ \$(h5dump -A np1.h5 | grep -c 'ATTRIBUTE \"units\"') -eq \$(h5dump -A np1.h5 | grep -c 'ATTRIBUTE \"description\"') ] && [ \$(h5dump -A np1.h5 | grep -c 'ATTRIBUTE \"units\"') -ge 30 ]"
finish
