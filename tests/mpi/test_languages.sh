#!/usr/bin/env bash
# HMM and PCFG languages end to end (experiments/hmm.cfg, experiments/pcfg.cfg): every cell done,
# bitwise the same at 1 and 2 ranks, /language says the entropy is an estimate and gives its
# interval, no cell's excess loss is below minus that interval, pieces are sentences (pcfg) or
# none (hmm, NaN), and U(D) of every cell agrees at the shared prefixes with the cell of the
# largest D (the corpus of a smaller D is a prefix of the larger one). The skills smoke grid is
# held to the same nesting.
# usage: bash test_languages.sh SLINGSHOT_BINARY MPIEXEC SOURCE_DIR
source "$(dirname "$0")/lib.sh"

attr() { # attr FILE PATH: the value of a scalar attribute
  h5dump -a "$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'
}

# Every finished cell: excess_loss >= -ci (nats), entropy finite.
excess_ok() {
  local f=$1 ci
  ci=$(attr "$f" /language/entropy_ci95_nats)
  "$SL" export "$f" --csv -o - | awk -F, -v ci="$ci" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { n++; s = $col["grid.status"]; x = $col["cells.excess_loss"]
      if (s != "done" || x == "" || x + 0 < -ci) { print "cell " $1 ": " s " excess " x " ci " ci; bad++ } }
    END { exit (bad > 0 || n < 4) }'
}

# The values of a dataset, one row per line, comma-separated (its first DATA block: not the
# attributes').
rows() {
  h5dump -y -w 0 -d "$2" "$1" | awk '/DATA \{/ { n++; next } n == 1 && /\}/ { exit } n == 1' |
    tr -d ' ' | sed 's/,$//'
}

# Rows of DATASET ([cell, prefix]) of cells with the same grid seed: where two are both defined
# they are equal, and each prefix is defined in at least one cell.
nested() {
  paste -d, <(rows "$1" /grid/seed | tr ',' '\n') <(rows "$1" "$2") | awk -F, '
    { for (j = 2; j <= NF; j++) if ($j != "nan") { k = $1 ":" j
        if ((k in v) && v[k] != $j) { print "seed " $1 " prefix " j - 1 ": " v[k] " vs " $j; bad++ }
        v[k] = $j; m++ } }
    END { exit (bad > 0 || m < 4) }'
}

all_nan() {
  ! rows "$1" "$2" | tr -d ',' | grep -qv '^\(nan\)*$'
}

for lang in hmm pcfg; do
  check "$lang: run at 1 rank" run_np 1 run "$lang" -o ${lang}1.h5 --log-level warn
  check "$lang: run at 2 ranks" run_np 2 run "$lang" -o ${lang}2.h5 --log-level warn
  check "$lang: every cell done" bash -c "'$SL' status ${lang}1.h5 | grep -q '4 done, 0 todo'"
  check "$lang: 1 rank == 2 ranks, bitwise" same_results ${lang}1.h5 ${lang}2.h5
  check "$lang: /language kind" test "$(attr ${lang}1.h5 /language/kind)" = "$lang"
  check "$lang: entropy flagged as an estimate" \
    test "$(attr ${lang}1.h5 /language/entropy_estimated)" = 1 -a \
    "$(attr ${lang}1.h5 /language/entropy_exact)" = 0
  check "$lang: entropy interval > 0" \
    awk -v c="$(attr ${lang}1.h5 /language/entropy_ci95_nats)" 'BEGIN { exit !(c > 0 && c < 0.1) }'
  check "$lang: excess loss >= -interval in every cell" excess_ok ${lang}1.h5
  check "$lang: corpora nested across D (4-grams)" nested ${lang}1.h5 /unique/ngrams_4
  check "$lang: corpora nested across D (8-grams)" nested ${lang}1.h5 /unique/ngrams_8
done
check "pcfg: pieces are sentences" test "$(attr pcfg1.h5 /language/pieces)" = sentences
check "pcfg: sentences counted, nested" nested pcfg1.h5 /unique/pieces
check "hmm: no pieces" test "$(attr hmm1.h5 /language/pieces)" = none
check "hmm: /unique/pieces all NaN" all_nan hmm1.h5 /unique/pieces
check "skills smoke: run" run_np 2 run smoke -o smoke.h5 --log-level warn
check "skills smoke: corpora nested across D (pieces)" nested smoke.h5 /unique/pieces
check "skills smoke: entropy exact" test "$(attr smoke.h5 /language/entropy_exact)" = 1
finish
