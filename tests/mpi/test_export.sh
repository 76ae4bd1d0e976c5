# slingshot export FILE --csv: one row per cell, values equal to the file's, bad inputs refused.
source "$(dirname "$0")/lib.sh"

h5vals() { # h5vals FILE DATASET: the values, space-separated, full precision
  h5dump -A 0 -m %.17g -y -w 0 -d "$2" "$1" |
    awk '/DATA \{/ {f = 1; next} f && /}/ {exit} f {gsub(/,/, " "); printf "%s ", $0} END {print ""}' |
    xargs
}
csv_col() { # csv_col FILE NAME: the column NAME (the header's name), one value per line
  awk -F, -v name="$2" 'NR == 1 {for (k = 1; k <= NF; k++) if ($k == name) c = k; if (!c) exit 1; next}
    {print $c}' "$1"
}
# Cell I's value of the CSV column NAME equals dataset DSET's within 1e-15 relative.
same_value() {
  local csv=$1 name=$2 h5=$3 dset=$4 i=$5 a b
  a=$(csv_col "$csv" "$name" | sed -n "$((i + 1))p")
  b=$(h5vals "$h5" "$dset" | awk -v i="$i" '{print $(i + 1)}')
  echo "cell $i: csv $a, h5dump $b"
  [ -n "$a" ] && [ -n "$b" ] &&
    awk -v a="$a" -v b="$b" 'BEGIN {d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b;
      exit !(d <= 1e-15 * s)}'
}
export -f h5vals csv_col same_value
refused() { # refused PATTERN args...: export fails at 2 ranks and stderr matches PATTERN
  local pat=$1
  shift
  ! run_np 2 export "$@" >out.txt 2>err.txt && grep -q -- "$pat" err.txt
}

check "smoke grid" run_np 2 run smoke -o s.h5 --log-level warn
n=$(h5vals s.h5 /grid/status | wc -w)
check "export at 2 ranks (default output s.csv)" run_np 2 export s.h5 --csv
check "a header, then exactly one row per cell ($n)" bash -c \
  "head -1 s.csv | grep -q '^cell,grid\.' && [ \$(wc -l < s.csv) -eq $((n + 1)) ] &&
   [ \"\$(tail -n +2 s.csv | cut -d, -f1 | xargs)\" = \"\$(seq 0 $((n - 1)) | xargs)\" ]"
check "every row has as many fields as the header" bash -c \
  "awk -F, 'NR == 1 {h = NF} NF != h {exit 1}' s.csv"
check "columns named GROUP.NAME: grid.n_params, grid.status, cells.val_loss, cells.n_params" bash -c \
  "for c in grid.n_params grid.status grid.seed cells.val_loss cells.n_params cells.d_tokens; do
     head -1 s.csv | tr , '\n' | grep -qx \$c || { echo \"no \$c\"; exit 1; }; done"
check "val_loss of the first cell equals h5dump's" same_value s.csv cells.val_loss s.h5 \
  /cells/val_loss 0
check "val_loss of the last cell equals h5dump's" same_value s.csv cells.val_loss s.h5 \
  /cells/val_loss $((n - 1))
check "train_loss of cell 3 equals h5dump's" same_value s.csv cells.train_loss s.h5 \
  /cells/train_loss 3
check "integers as integers (grid.n_params equals h5dump's)" bash -c \
  "[ \"\$(csv_col s.csv grid.n_params | tr '\n' ' ' | xargs)\" = \"\$(h5vals s.h5 /grid/n_params)\" ]"
check "measurement columns: bounds.best_bound of cell 2 equals h5dump's" same_value s.csv \
  bounds.best_bound s.h5 /bounds/best_bound 2
check "measurement columns: flatness.trace of cell 1 equals h5dump's" same_value s.csv \
  flatness.trace s.h5 /flatness/trace 1
check "measurement columns: skills.theta of cell 5 equals h5dump's" same_value s.csv \
  skills.theta s.h5 /skills/theta 5
check "/bounds/alphas (8 smoothing levels, 8 cells: same length by chance) is not a column" \
  bash -c "[ \$(h5vals s.h5 /bounds/alphas | wc -w) -eq $n ] && ! head -1 s.csv | tr , '\n' | grep -q alphas"
check "status as text" bash -c "[ \"\$(csv_col s.csv grid.status | sort -u)\" = done ]"
check "-o - writes the same table to stdout" bash -c \
  "'$MPIEXEC' -np 2 --oversubscribe '$SL' export s.h5 --csv -o - >stdout.csv 2>/dev/null &&
   cmp -s stdout.csv s.csv"

# An existing output is refused without --force, and left as it was.
echo "keep me" >keep.csv
check "existing output refused without --force" refused "keep.csv already exists" s.h5 --csv -o \
  keep.csv
check "the refused output untouched" bash -c "[ \"\$(cat keep.csv)\" = 'keep me' ]"
check "--force overwrites it" bash -c \
  "'$MPIEXEC' -np 2 --oversubscribe '$SL' export s.h5 --csv -o keep.csv --force >/dev/null 2>&1 &&
   cmp -s keep.csv s.csv"

# Bad inputs: a non-zero exit, a message naming the file, no output.
check "missing file refused" refused "missing.h5" missing.h5 --csv
printf 'N,D,loss\n1,2,3\n' >table.csv
check "non-HDF5 file refused" refused "table.csv is not an HDF5 file" table.csv --csv -o t.csv
h5copy -i s.h5 -o plain.h5 -s /cells -d /cells
check "HDF5 file that is not a results file refused" refused "plain.h5 is not a slingshot" \
  plain.h5 --csv
check "no output left by the refused exports" bash -c "[ ! -e missing.csv ] && [ ! -e t.csv ] &&
   [ ! -e plain.csv ] && ! ls *.tmp.* 2>/dev/null"
check "missing output folder refused" refused "/nonexistent/dir" s.h5 --csv -o /nonexistent/dir/x.csv
check "--csv required" refused "add --csv" s.h5
check "unknown option refused" refused "did you mean --force" s.h5 --csv --forse
check "--help" bash -c "'$MPIEXEC' -np 1 '$SL' export --help | grep -q 'usage: slingshot export'"
check "listed by slingshot --help" bash -c "'$MPIEXEC' -np 1 '$SL' --help | grep -q 'export'"

# Another format version and a NaN need h5py to edit the file (CI has none).
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
  cp s.h5 v2.h5
  cp s.h5 part.h5
  /usr/bin/python3 -c "
import h5py, numpy as np
with h5py.File('v2.h5', 'a') as f:
    f.attrs['format_version'] = np.int64(99)
with h5py.File('part.h5', 'a') as f:
    f['grid/status'][2] = 0
    f['cells/val_loss'][2] = np.nan
    f['grid/error'][5] = b'a reason, with \"quotes\"'
"
  check "other format version refused" refused "v2.h5 has format_version 99" v2.h5 --csv
  check "partial file exported: NaN as an empty field, todo as text" bash -c \
    "'$MPIEXEC' -np 1 '$SL' export part.h5 --csv >/dev/null 2>&1 &&
     [ -z \"\$(csv_col part.csv cells.val_loss | sed -n 3p)\" ] &&
     [ \"\$(csv_col part.csv grid.status | sed -n 3p)\" = todo ]"
  check "a string with a comma and quotes is quoted (RFC 4180) and reads back" bash -c \
    "grep -qF '\"a reason, with \"\"quotes\"\"\"' part.csv &&
     /usr/bin/python3 -c \"
import csv
rows = list(csv.DictReader(open('part.csv')))
assert len(rows) == $n and rows[5]['grid.error'] == 'a reason, with \\\"quotes\\\"', rows[5]['grid.error']
\""
else
  echo "skip: format-version and NaN checks (no h5py for /usr/bin/python3 to edit the file)"
fi
finish
