#!/usr/bin/env bash
# Flatness in a run and in its analysis (issue 7): the smoke experiment measures the Hutchinson
# trace of every cell and the full spectrum of the cells with N <= 1000; checked from the file
# with h5dump alone: every done cell has a finite trace and standard error; the small cells'
# exact trace (sum of the eigenvalues) is within 4 standard errors of Hutchinson's estimate;
# top_eigenvalues are descending and start at lambda_max; the values are bitwise the same at 1
# and 2 ranks; analyze writes /analysis/flatness, flatness.csv and a report section.
# usage: bash test_flatness.sh SLINGSHOT_BINARY MPIEXEC SOURCE_DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

h5vals() { # h5vals FILE DATASET: the values, space-separated, full precision
  h5dump -A 0 -m %.17g -y -w 0 -d "$2" "$1" |
    awk '/DATA \{/ {f = 1; next} f && /}/ {exit} f {gsub(/,/, " "); printf "%s ", $0} END {print ""}' |
    xargs
}

run_np 1 run smoke -o s1.h5 > run1.log 2>&1 || { cat run1.log; fail "smoke at 1 rank"; finish; }
run_np 2 run smoke -o s2.h5 > run2.log 2>&1 || { cat run2.log; fail "smoke at 2 ranks"; finish; }

traces_ok() {
  awk -v T="$(h5vals s1.h5 /flatness/trace)" -v E="$(h5vals s1.h5 /flatness/trace_stderr)" \
    -v X="$(h5vals s1.h5 /flatness/exact_trace)" -v N="$(h5vals s1.h5 /cells/n_params)" \
    -v S="$(h5vals s1.h5 /grid/status)" 'BEGIN {
      n = split(T, t); split(E, e); split(X, x); split(N, p); split(S, s); exact = 0
      for (i = 1; i <= n; i++) {
        if (s[i] != 1) continue
        if (t[i] == "nan" || e[i] == "nan" || e[i] <= 0) { print "cell " i - 1 ": no trace"; exit 1 }
        if (p[i] <= 1000) {
          if (x[i] == "nan") { print "cell " i - 1 ": no spectrum"; exit 1 }
          z = (t[i] - x[i]) / e[i]; if (z < 0) z = -z
          if (z > 4) { print "cell " i - 1 ": Hutchinson " t[i] " vs exact " x[i] " (z " z ")"; exit 1 }
          exact++
        } else if (x[i] != "nan") { print "cell " i - 1 ": spectrum above the limit"; exit 1 }
      }
      if (exact < 2) { print "only " exact " cells with a spectrum"; exit 1 }
    }'
}
check "every done cell has a trace; exact traces agree with Hutchinson" traces_ok

top_ok() {
  local top lmax
  top=$(h5vals s1.h5 /flatness/top_eigenvalues)
  lmax=$(h5vals s1.h5 /flatness/lambda_max)
  awk -v T="$top" -v L="$lmax" 'BEGIN {
      n = split(L, l); m = split(T, t) / n; checked = 0
      for (i = 1; i <= n; i++) {
        if (l[i] == "nan") continue
        if (t[(i - 1) * m + 1] != l[i]) { print "cell " i - 1 ": top[0] != lambda_max"; exit 1 }
        for (j = 2; j <= m; j++) if (t[(i - 1) * m + j] > t[(i - 1) * m + j - 1]) exit 1
        checked++
      }
      exit checked == 0
    }'
}
check "top eigenvalues descending from lambda_max" top_ok

same_flatness() {
  local d
  for d in trace trace_stderr exact_trace negative_mass top_eigenvalues loss; do
    h5diff s1.h5 s2.h5 /flatness/$d /flatness/$d > /dev/null || { echo "differs: $d"; return 1; }
  done
}
check "flatness bitwise the same at 1 and 2 ranks" same_flatness
check "/flatness carries its settings and units" bash -c \
  "h5dump -A -g /flatness s1.h5 | grep -q 'ATTRIBUTE \"probes\"' &&
   [ \$(h5dump -A -g /flatness s1.h5 | grep -c 'ATTRIBUTE \"units\"') -ge 10 ]"

"$SL" analyze s1.h5 -o rep --bootstrap 200 > an.log 2>&1 || { cat an.log; fail "analyze"; finish; }
check "analyze writes /analysis/flatness" bash -c \
  "h5dump -d /analysis/flatness/spearman s1.h5 > /dev/null && grep -q '^flatness: ' an.log"
check "the report has the flatness section and table" bash -c \
  "grep -q '## Flatness' rep/report.md && [ \$(wc -l < rep/flatness.csv) -ge 5 ]"

# A bad flatness setting is refused with its reason, before anything runs.
sed -e 's/family = "mlp";/family = "gpt";/' -e 's/probes = 8;/probes = 8; method = "exact";/' \
  "$SRC/experiments/smoke.cfg" > bad.cfg
bad_refused() {
  if "$SL" run bad.cfg -o bad.h5 > bad.log 2>&1; then return 1; fi
  grep -q 'flatness.method = "exact" exists for the mlp only' bad.log && [ ! -e bad.h5 ]
}
check "flatness.method = exact with the gpt is refused" bad_refused
sed -e 's/probes = 8;/probes = 8; distribution = "uniform";/' "$SRC/experiments/smoke.cfg" > bad2.cfg
check "an unknown probe distribution is refused" bash -c \
  "! '$SL' run bad2.cfg -o bad2.h5 > bad2.log 2>&1 && grep -q 'flatness.distribution' bad2.log"
finish
