# slingshot analyze: fits into FILE:/analysis and a report folder, the same at 1 and 2 ranks,
# replacing an earlier analysis, never touching the run's data; partial grids and bad inputs.
source "$(dirname "$0")/lib.sh"

# Every file analyze leaves in the report folder (the PNGs only where gnuplot is installed).
report_complete() {
  local dir=$1 f
  for f in report.md cells.csv chinchilla.csv frontier.csv efficient_frontier.csv \
    loss_vs_d.gp loss_vs_d.dat iso_loss.gp iso_loss.dat efficient_frontier.gp \
    efficient_frontier.dat loss_curves.gp loss_curves.dat unique.csv unique_fit.csv unique.gp \
    unique.dat; do
    [ -s "$dir/$f" ] || { echo "missing: $dir/$f"; return 1; }
  done
  if command -v gnuplot >/dev/null; then
    for f in loss_vs_d iso_loss efficient_frontier loss_curves unique; do
      [ -s "$dir/$f.png" ] || { echo "missing: $dir/$f.png"; return 1; }
      grep -q "($f.png)" "$dir/report.md" || { echo "report.md does not embed $f.png"; return 1; }
    done
  else
    echo "skip: gnuplot not installed, PNGs not checked"
    grep -q "gnuplot was not found" "$dir/report.md" || return 1
  fi
}

# The run's groups of two files are the same (h5diff compares values and attributes).
run_unchanged() {
  local a=$1 b=$2 g
  for g in /grid /cells /curves /language; do
    h5diff "$a" "$b" "$g" "$g" >/dev/null || { echo "changed: $g"; return 1; }
  done
  [ "$(h5dump -a /config "$a" | tail -n +2)" = "$(h5dump -a /config "$b" | tail -n +2)" ]
}

analysis_same() { # the whole /analysis fit output of two files, bitwise
  local a=$1 b=$2 g
  for g in chinchilla frontier efficient_frontier unique kausik; do
    h5diff "$a" "$b" "/analysis/$g" "/analysis/$g" >/dev/null || { echo "differs: $g"; return 1; }
  done
}

check "smoke grid" run_np 2 run smoke -o s.h5 --log-level warn
cp s.h5 before.h5
cp s.h5 a1.h5
cp s.h5 a2.h5

check "analyze at 1 rank" run_np 1 analyze a1.h5 --bootstrap 50 -o rep1
check "analyze at 2 ranks" run_np 2 analyze a2.h5 --bootstrap 50 -o rep2 --log-level warn
check "/analysis/chinchilla written" bash -c "h5ls -r a1.h5 | grep -q '^/analysis/chinchilla/value '"
check "every /analysis dataset has units and a description" bash -c \
  "n=\$(h5ls -r a1.h5 | awk '\$1 ~ /^\\/analysis\\// && \$2 == \"Dataset\"' | wc -l);
   u=\$(h5dump -A -g /analysis a1.h5 | grep -c 'ATTRIBUTE \"units\"');
   d=\$(h5dump -A -g /analysis a1.h5 | grep -c 'ATTRIBUTE \"description\"');
   [ \$n -ge 20 ] && [ \$u -eq \$n ] && [ \$d -ge \$n ]"
check "fit bitwise the same at 1 and 2 ranks (h5diff /analysis/chinchilla)" \
  h5diff a1.h5 a2.h5 /analysis/chinchilla /analysis/chinchilla
check "frontiers and reconstruction the same at 1 and 2 ranks" analysis_same a1.h5 a2.h5
check "bootstrap replicates kept [50 x 8]" bash -c \
  "h5ls a1.h5/analysis/chinchilla/bootstrap | grep -q '{50, 8}'"
check "the run's data unchanged by analyze" run_unchanged before.h5 a1.h5
# analyze edits a copy renamed over the file (test_fault.sh kills it): through a symbolic link
# the target is updated and the link stays a link; no working copy is left.
mkdir -p data && cp s.h5 data/target.h5 && ln -sf data/target.h5 link.h5
run_np 1 analyze link.h5 --bootstrap 10 -o replink --no-figures --log-level warn >/dev/null 2>&1
check "analyze through a symbolic link: exit $?, the link kept, /analysis in its target" bash -c \
  "[ -L link.h5 ] && h5ls data/target.h5/analysis >/dev/null && [ ! -e data/target.h5.edit-tmp ]"
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere; the check means something only for users
  mkdir -p rodir && cp s.h5 rodir/r.h5 && chmod 555 rodir
  run_np 1 analyze rodir/r.h5 -o rep_ro >out.txt 2>err.txt
  check "analyze in an unwritable folder: refused, naming it" bash -c \
    "[ $? -ne 0 ] && grep -q 'its folder .*rodir is not writable' err.txt"
  chmod 755 rodir
fi
check "report folder complete" report_complete rep1
check "report names the reconstruction and the published constants" bash -c \
  "grep -q 'RECONSTRUCTION' rep1/report.md && grep -q '406.4' rep1/report.md"
check "cells.csv has a row per cell" bash -c "[ \$(wc -l < rep1/cells.csv) -eq 9 ]"
check "every gnuplot script runs on its own in the folder" bash -c \
  "command -v gnuplot >/dev/null || exit 0; cd rep1 && rm -f *.png &&
   for g in *.gp; do gnuplot \$g || exit 1; done && ls loss_vs_d.png iso_loss.png >/dev/null"

# U(D) from /unique. h5vals FILE DATASET: the values, space-separated, full precision.
h5vals() {
  h5dump -A 0 -m %.17g -y -w 0 -d "$2" "$1" |
    awk '/DATA \{/ {f = 1; next} f && /}/ {exit} f {gsub(/,/, " "); printf "%s ", $0} END {print ""}' |
    xargs
}
# The counts analyze should have averaged, computed here from the run's own datasets: for each
# seed the done cell with the largest D, mean over the seeds with a count at each prefix.
expected_pieces() {
  local f=$1
  awk -v P="$(h5vals "$f" /unique/prefix_tokens | wc -w)" \
    -v U="$(h5vals "$f" /unique/pieces)" -v S="$(h5vals "$f" /grid/seed)" \
    -v D="$(h5vals "$f" /cells/d_tokens)" -v T="$(h5vals "$f" /grid/status)" 'BEGIN {
      nu = split(U, u, " "); n = split(S, s, " "); split(D, d, " "); split(T, t, " ")
      for (i = 1; i <= n; i++) if (t[i] == 1 && (!(s[i] in best) || d[i] > d[best[s[i]]])) best[s[i]] = i
      for (j = 1; j <= P; j++) {
        sum = 0; c = 0
        for (k in best) { v = u[(best[k] - 1) * P + j]; if (v != "nan") { sum += v; c++ } }
        if (c) printf "%.10g\n", sum / c; else print ""
      }
    }'
}
csv_pieces() { # the pieces column of unique.csv, rounded alike
  awk -F, 'NR == 1 {for (k = 1; k <= NF; k++) if ($k == "pieces") c = k; next}
    {if ($c == "") print ""; else printf "%.10g\n", $c}' "$1"
}
export -f h5vals expected_pieces csv_pieces
cp s.h5 a3.h5
check "/analysis/unique: a finite gamma for distinct pieces, in (0, 2]" bash -c \
  "g=\$(h5vals a1.h5 /analysis/unique/gamma | awk '{print \$1}');
   echo \"gamma(pieces) = \$g\"; awk -v g=\"\$g\" 'BEGIN {exit !(g + 0 > 0 && g + 0 <= 2 && g != \"nan\")}'"
check "/analysis/unique has a gamma, interval and doubling per quantity, with units" bash -c \
  "for d in prefix_tokens pieces ngrams_4 gamma gamma_se gamma_lo gamma_hi doubling local_slope n_fit; do
     h5dump -a /analysis/unique/\$d/units a1.h5 >/dev/null 2>&1 || { echo \"no \$d\"; exit 1; }; done"
check "U(D) pieces: the seed-averaged counts of the largest-D cell of each seed" bash -c \
  "[ \"\$(h5vals a1.h5 /grid/seed | tr ' ' '\n' | sort -u | wc -l)\" -ge 2 ] &&
   diff <(csv_pieces rep1/unique.csv) <(expected_pieces a1.h5)"
check "U(D) pieces saturate: the fit leaves out prefixes at or above half the language's pieces" \
  bash -c "n=\$(h5vals a1.h5 /analysis/unique/n_fit | awk '{print \$1}');
   p=\$(h5vals a1.h5 /unique/prefix_tokens | wc -w); [ \$n -ge 3 ] && [ \$n -lt \$p ]"
check "unique.csv: a header and a row per prefix; unique_fit.csv: pieces with its gamma" bash -c \
  "head -1 rep1/unique.csv | grep -q '^prefix_tokens,pieces,ngrams_4' &&
   [ \$(wc -l < rep1/unique.csv) -eq \$((\$(h5vals a1.h5 /unique/prefix_tokens | wc -w) + 1)) ] &&
   grep -Eq '^pieces,[0-9.]+,' rep1/unique_fit.csv && grep -q '^RECONSTRUCTION' rep1/unique_fit.csv"
check "report.md and the summary give U(D) next to the reconstruction" bash -c \
  "grep -q '## Unique sequences U(D)' rep1/report.md && grep -q '(unique.png)' rep1/report.md &&
   grep -q 'RECONSTRUCTION.* gamma_hi / mid / lo' rep1/report.md &&
   '$MPIEXEC' -np 1 '$SL' analyze a3.h5 --bootstrap 5 --no-figures -o rep3 2>/dev/null |
     grep -Eq '^  pieces +gamma = [0-9.]+ \['"

# Analysing twice replaces the analysis (one /analysis, same numbers), the run still untouched.
check "analyze twice (replaces /analysis)" run_np 2 analyze a1.h5 --bootstrap 50 -o rep1 \
  --log-level warn
check "one /analysis/chinchilla after the second analysis" bash -c \
  "[ \$(h5ls -r a1.h5 | grep -c '^/analysis/chinchilla ') -eq 1 ]"
check "second analysis equal to the first" analysis_same a1.h5 a2.h5
check "the run's data unchanged after two analyses" run_unchanged before.h5 a1.h5
check "default report folder is FILE_report" bash -c \
  "'$MPIEXEC' -np 1 '$SL' analyze a2.h5 --bootstrap 5 --no-figures >/dev/null 2>&1 &&
   [ -s a2_report/report.md ] && [ ! -e a2_report/iso_loss.gp ]"

# Bad inputs: refused with a non-zero exit and a message naming the file; the file untouched.
refused() { # refused PATTERN args...: analyze fails at 2 ranks and stderr matches PATTERN
  local pat=$1
  shift
  ! run_np 2 analyze "$@" >out.txt 2>err.txt && grep -q -- "$pat" err.txt
}
check "missing file refused" refused "missing.h5" missing.h5
printf 'N,D,loss\n1,2,3\n' >table.csv
check "non-HDF5 file refused" refused "table.csv is not an HDF5 file" table.csv
h5copy -i s.h5 -o plain.h5 -s /cells -d /cells
check "HDF5 file that is not a results file refused" refused "plain.h5 is not a slingshot" plain.h5
cp s.h5 d.h5
check "uncreatable report folder refused" refused "/nonexistent/dir/rep" d.h5 -o /nonexistent/dir/rep
check "file untouched after a refused analysis" bash -c \
  "! h5ls -r d.h5 | grep -q '^/analysis' && cmp -s d.h5 s.h5"
check "unknown option refused" refused "did you mean --bootstrap" s.h5 --bootstrp 5
check "--help" bash -c "'$MPIEXEC' -np 1 '$SL' analyze --help | grep -q 'usage: slingshot analyze'"

# A partial grid: some cells todo, one diverged. Needs h5py to edit the status (CI has none).
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
  cp s.h5 part.h5
  /usr/bin/python3 -c "
import h5py
with h5py.File('part.h5', 'a') as f:
    st = f['grid/status']
    st[1] = 0; st[6] = 0; st[5] = 2
"
  check "partial grid analysed" bash -c \
    "'$MPIEXEC' -np 2 --oversubscribe '$SL' analyze part.h5 --bootstrap 20 >part.txt 2>&1"
  check "partial grid: counts reported" grep -q "5 done, 2 missing (todo), 1 diverged, 0 failed" \
    part.txt
  check "partial grid: dropped cells recorded" bash -c \
    "h5dump -d /analysis/chinchilla/dropped_cells part.h5 | grep -q '(0): 1, 5, 6' &&
     grep -q 'cell 5: diverged' part_report/report.md"
  check "partial grid: too few cells, Chinchilla skipped with a note" bash -c \
    "grep -q 'Not fitted' part_report/report.md &&
     h5dump -a /analysis/chinchilla/status part.h5 | grep -q skipped"
  # A file made before /unique existed is analysed, with a note.
  cp s.h5 old.h5
  /usr/bin/python3 -c "
import h5py
with h5py.File('old.h5', 'a') as f:
    del f['unique']
"
  check "file without /unique analysed, with a note" bash -c \
    "'$MPIEXEC' -np 2 --oversubscribe '$SL' analyze old.h5 --bootstrap 5 >old.txt 2>&1 &&
     grep -q 'U(D): not measured: the file has no /unique' old.txt &&
     grep -q 'Not measured' old_report/report.md && [ ! -e old_report/unique.png ] &&
     h5dump -a /analysis/unique/status old.h5 | grep -q skipped &&
     h5ls -r old.h5 | grep -q '^/analysis/chinchilla/value '"
else
  echo "skip: partial-grid checks (no h5py for /usr/bin/python3 to edit /grid/status)"
fi
finish
