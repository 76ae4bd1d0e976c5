# Damaged inputs: status, analyze and export refuse truncated, corrupted and foreign HDF5 files,
# files of another format_version and non-HDF5 files; fit --csv refuses CSVs with missing or
# non-numeric columns. Each: a non-zero exit (not a crash, not a hang: every rank exits), one
# message naming the file and what is wrong, and the input left as it was.
source "$(dirname "$0")/lib.sh"
run_np 2 run smoke -o s.h5 --log-level warn >/dev/null 2>&1
check "a smoke results file to damage" "$SL" status s.h5

# ranks NP args...: slingshot at NP ranks with a timeout; 1 rank as an MPI singleton (no
# mpiexec: the same code path, several times faster to start).
ranks() {
  local np=$1
  shift
  if [ "$np" -eq 1 ]; then
    timeout 60 "$SL" "$@"
  else
    timeout 60 "$MPIEXEC" -np "$np" --oversubscribe "$SL" "$@"
  fi
}

# refused NP CMD FILE PATTERN: CMD (status, analyze, export) on FILE at NP ranks exits non-zero
# within the timeout, without a signal, once with a message matching PATTERN, FILE unchanged.
refused() {
  local np=$1 cmd=$2 f=$3 pat=$4 sum rc args
  sum=$(md5sum "$f" 2>/dev/null)
  case $cmd in
  status) args=(status "$f") ;;
  analyze) args=(analyze "$f" --bootstrap 2 --no-figures -o "rep_$f") ;;
  export) args=(export "$f" --csv -o "x_$f.csv" --force) ;;
  esac
  ranks "$np" "${args[@]}" >out.txt 2>err.txt
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -gt 128 ] || grep -aq 'Sanitizer\|signal' err.txt; then
    fail "$cmd $f at $np ranks: exit $rc (expected a refusal)"
    cat err.txt
  elif ! grep -q -- "$pat" err.txt || ! grep -qF -- "$f" err.txt; then
    fail "$cmd $f at $np ranks: the message lacks '$pat' or the file name:"
    cat err.txt
  elif [ "$(grep -c 'error:' err.txt)" -ne 1 ]; then
    fail "$cmd $f at $np ranks: expected one error line:"
    cat err.txt
  elif [ "$(md5sum "$f" 2>/dev/null)" != "$sum" ]; then
    fail "$cmd $f at $np ranks: the file was modified"
  else
    ok "$cmd $f at $np ranks: $(grep -m1 'error:' err.txt | cut -c1-100)"
  fi
}
# every_command FILE PATTERN: status, analyze at 2 ranks, export at 1 rank; all_ranks adds
# analyze at 1 and export at 2 (kept to a few files for time).
every_command() {
  refused 1 status "$@"
  refused 2 analyze "$@"
  refused 1 export "$@"
}
all_ranks() {
  every_command "$@"
  refused 1 analyze "$@"
  refused 2 export "$@"
}

# Truncated copies (a copy cut short by a full disk or an interrupted transfer).
size=$(stat -c %s s.h5)
head -c $((size / 2)) s.h5 >half.h5
head -c 1000 s.h5 >head1k.h5
head -c $((size - 1)) s.h5 >short1.h5
all_ranks half.h5 "cannot open half.h5 as HDF5 (truncated or damaged?)"
every_command head1k.h5 "cannot open head1k.h5 as HDF5 (truncated or damaged?)"
refused 2 export short1.h5 "truncated or damaged"

# Corrupted bytes. The superblock (its checksum fails), an object header in the middle (the
# 1.10 object headers carry checksums), and a status byte no run writes.
cp s.h5 super.h5
printf '\xde\xad\xbe\xef' | dd of=super.h5 bs=1 seek=28 conv=notrunc status=none
every_command super.h5 "super.h5"
cp s.h5 ohdr.h5
# The object header of /grid/status, found by its address as h5ls reports it (Location 1:ADDR).
addr=$(h5ls -v s.h5/grid/status | awk -F: '/Location/ {print $3 + 0}')
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of=ohdr.h5 bs=1 seek=$((addr + 12)) conv=notrunc \
  status=none
check "ohdr.h5 differs from s.h5 (the header of /grid/status was at $addr)" bash -c "! cmp -s s.h5 ohdr.h5"
every_command ohdr.h5 "ohdr.h5"
cp s.h5 code.h5
off=$(h5dump -p -d /grid/status s.h5 | awk '/OFFSET/ {print $2}')
printf '\x07' | dd of=code.h5 bs=1 seek=$((off + 3)) conv=notrunc status=none
all_ranks code.h5 "/grid/status of cell 3 is 7, which no run writes"

# Not HDF5 at all: text, an empty file, a directory.
printf 'N,D,loss\n1,2,3\n' >table.h5
: >empty.h5
mkdir dir.h5
every_command table.h5 "table.h5 is not an HDF5 file"
refused 2 analyze empty.h5 "empty.h5 is not an HDF5 file"
refused 2 export dir.h5 "dir.h5"

# Foreign HDF5: made by the HDF5 tools (a copy of one group), and by h5py (other software's
# files; a file claiming our format with a wrongly typed or shaped attribute; another version).
h5copy -i s.h5 -o tools.h5 -s /cells -d /cells
every_command tools.h5 "tools.h5 is not a slingshot results file: it has no 'format' attribute"
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
  cp s.h5 v99.h5
  cp s.h5 strver.h5
  /usr/bin/python3 -c "
import h5py, numpy as np
with h5py.File('h5py.h5', 'w') as f:
    f['data'] = np.arange(10.0)
    f.attrs['title'] = 'a file of some other program'
with h5py.File('arrfmt.h5', 'w') as f:
    f.attrs.create('format', np.array([b'slingshot-results', b'x'], dtype='S17'))
with h5py.File('v99.h5', 'a') as f:
    f.attrs['format_version'] = np.int64(99)
with h5py.File('strver.h5', 'a') as f:
    f.attrs['format_version'] = np.bytes_('1')
"
  all_ranks h5py.h5 "h5py.h5 is not a slingshot results file: it has no 'format' attribute"
  every_command arrfmt.h5 "arrfmt.h5: attribute 'format' is not a readable string"
  every_command v99.h5 "v99.h5 has format_version 99; this slingshot reads version 1"
  refused 2 analyze strver.h5 "strver.h5 has format_version -1; this slingshot reads version 1"
else
  echo "skip: h5py-made foreign files (no h5py for /usr/bin/python3)"
fi

# CSVs for fit --csv: missing columns, non-numeric cells, ragged rows, empty, not a CSV.
fit_refused() { # fit_refused NP FILE PATTERN [options]
  local np=$1 f=$2 pat=$3 rc
  shift 3
  ranks "$np" fit --csv "$f" --bootstrap 0 "$@" >out.txt 2>err.txt
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] && grep -qF -- "$pat" err.txt &&
    [ "$(grep -c 'error:' err.txt)" -eq 1 ]; then
    ok "fit --csv $f at $np ranks: $(grep -m1 'error:' err.txt | cut -c1-100)"
  else
    fail "fit --csv $f at $np ranks: exit $rc, expected '$pat':"
    cat err.txt
  fi
}
printf 'N,D\n1e3,1e4\n' >noloss.csv
printf 'N,D,loss\n1e3,1e4,2.5\n2e3,abc,2.1\n' >word.csv
printf 'N,D,loss\n1e3,1e4,2.5\n2e3,,2.1\n' >blank.csv
printf 'N,D,loss\n1e3,1e4,2.5\n2e3,2e4\n' >ragged.csv
printf 'N,D,loss\n1e3,1e4,inf\n' >inf.csv
: >empty.csv
head -c 300 s.h5 >binary.csv
for np in 1 2; do
  fit_refused $np noloss.csv "noloss.csv: no column 'loss' (the header has: 'N', 'D')"
  fit_refused $np word.csv "word.csv:3: column 'D' (column 2): 'abc' is not a number"
  fit_refused $np ragged.csv "ragged.csv:3: 2 fields, but the header has 3 columns"
done
fit_refused 1 blank.csv "blank.csv:3: column 'D' (column 2) is empty"
fit_refused 1 inf.csv "inf.csv:2: column 'loss' (column 3): 'inf' is not a finite number"
fit_refused 1 empty.csv "empty.csv: empty"
fit_refused 1 missing.csv "missing.csv"
fit_refused 2 binary.csv "binary.csv"
fit_refused 2 word.csv "word.csv: no column 'C'" --c-col C
finish
