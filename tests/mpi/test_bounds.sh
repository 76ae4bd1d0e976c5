# Compression bounds (SCIENCE.md section 3, issue 6): every cell of the smoke grid and of a grid
# with full and subspace training has a bound; the bound recomputed by hand from the stored ingredients equals
# the stored one; no bound lies below the measured population risk (a violation fails the test);
# a grid with enough data gets a non-vacuous bound (below log2 V); analyze reports it.
source "$(dirname "$0")/lib.sh"

vals() { # vals FILE DATASET: every value, one per line, full precision, row-major
  h5dump -y -w 0 -A 0 -m '%.17g' -d "$2" "$1" | awk '/DATA \{/ && !s { s = 1; next }
    s && /\}/ { exit } s' | tr -d ' ,' | grep -v '^$'
}
rows() { # rows FILE DATASET W: a [cells x W] dataset, one cell per line
  local dashes="" i
  for ((i = 0; i < $3; i++)); do dashes="$dashes -"; done
  vals "$1" "$2" | paste -d' ' $dashes
}

# Recomputes every bound[cell, a] = risk_emp + Delta(a) (term_m + term_n) from the ingredients
# (formula in the /bounds attribute) and checks: the same as stored (1e-9 relative), never below
# risk_pop[cell, a]; top-1 and top-k bounds never below their population errors.
check_file() {
  local f=$1 w
  w=$(vals "$f" /bounds/alphas | wc -l)
  vals "$f" /bounds/alphas | paste -sd' ' >alphas.txt
  paste -d' ' <(vals "$f" /grid/status) <(vals "$f" /bounds/c_bits) <(vals "$f" /bounds/extra_bits) \
    <(vals "$f" /bounds/m) <(vals "$f" /bounds/n) <(vals "$f" /bounds/eps) \
    <(vals "$f" /bounds/log2_vocab) <(vals "$f" /bounds/top1_bound) <(vals "$f" /bounds/top1_pop) \
    <(vals "$f" /bounds/topk_bound) <(vals "$f" /bounds/topk_pop) <(vals "$f" /bounds/best_bound) \
    <(rows "$f" /bounds/risk_emp "$w") <(rows "$f" /bounds/bound "$w") \
    <(rows "$f" /bounds/risk_pop "$w") >cells.txt
  awk -v w="$w" 'NR == FNR { for (j = 1; j <= NF; j++) a[j] = $j; next }
    function log2(x) { return log(x) / log(2) }
    {
      if ($1 != 1) { bad++; print "cell " FNR - 1 " not done"; next }
      C = $2; extra = $3; m = $4; n = $5; eps = $6; V = 2 ^ $7
      K = (C + 2 * log2(C) + extra) * log(2); r = n / (n + m)
      tm = sqrt((K - log(r * eps)) / (2 * m)); tn = sqrt(-log((1 - r) * eps) / (2 * n))
      best = 1e300
      for (j = 1; j <= w; j++) {
        emp = $(12 + j); stored = $(12 + w + j); pop = $(12 + 2 * w + j)
        want = emp + log2(1 + (1 - a[j]) * V / a[j]) * (tm + tn)
        if (want < best) best = want
        if ((stored - want) ^ 2 > (1e-9 * want) ^ 2) { bad++; print "cell " FNR - 1 " a " a[j] ": stored " stored " recomputed " want }
        if (stored < pop) { viol++; print "VIOLATION cell " FNR - 1 " a " a[j] ": bound " stored " < population risk " pop }
        checked++
      }
      if ((best - $12) ^ 2 > (1e-9 * best) ^ 2) { bad++; print "cell " FNR - 1 ": best_bound " $12 " is not the minimum " best }
      if ($8 < $9 || $10 < $11) { viol++; print "VIOLATION cell " FNR - 1 ": top-1/top-k bound below its population error" }
    }
    END { print checked " bounds recomputed, " bad + 0 " mismatches, " viol + 0 " violations"; exit (bad + viol > 0) }' \
    alphas.txt cells.txt
}

export -f vals
check "smoke grid" run_np 2 run smoke -o s.h5 --log-level warn
check "smoke: every bound recomputes from /bounds and none is below the population risk" check_file s.h5
check "smoke: the formula is stored with the file" bash -c "h5dump -a /bounds/formula s.h5 | grep -q 'term_m'"

check "a grid with enough data" run_np 2 run "$SRC/tests/data/bounds.cfg" -o b.h5 --log-level warn
check "bounds grid: every bound recomputes, none below the population risk" check_file b.h5
check "bounds grid: the subspace cell codes d = 1000 coordinates, the full one all N" bash -c \
  "[ \"\$(vals b.h5 /bounds/d | paste -sd' ')\" = \"\$(vals b.h5 /cells/n_params | head -1) 1000\" ]"
nonvac=$(paste -d' ' <(vals b.h5 /bounds/best_bound) <(vals b.h5 /bounds/log2_vocab) |
  awk '$1 < $2 { k++ } END { print k + 0 }')
check "bounds grid: at least one non-vacuous bound ($nonvac cells below log2 V)" test "$nonvac" -ge 1
# A subspace cell killed mid-training (SIGKILL to the process this test started) and resumed
# from its checkpoint (w and its AdamW moments) equals the uninterrupted run, bitwise.
"$SL" run "$SRC/tests/data/bounds.cfg" -o p.h5 --checkpoint-every 300 --log-level warn \
  >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do [ -e p.h5.ckpt/cell_1.ckpt ] && break; sleep 0.05; done
# checkpoints are written atomically (rename): the file existing means it is whole; kill at once,
# while the cell is surely still training
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "subspace cell killed mid-training with a checkpoint" test -e p.h5.ckpt/cell_1.ckpt
run_np 1 run "$SRC/tests/data/bounds.cfg" -o p.h5 --resume --log-level info >resume.log 2>&1
check "resumed from the subspace cell's checkpoint" grep -q "cell 1: resuming" resume.log
check "resumed == uninterrupted, bitwise (bounds included)" same_results b.h5 p.h5
check "analyze the bounds grid" run_np 1 analyze b.h5 -o rep --bootstrap 10 --log-level warn
check "report: bounds section, csv and /analysis/bounds" bash -c \
  "grep -q 'Compression bounds' rep/report.md && [ -s rep/bounds.csv ] && [ -s rep/bound_vs_n.gp ] &&
   h5dump -a /analysis/bounds/nonvacuous_cells b.h5 | grep -q '(0): [1-9]'"
finish
