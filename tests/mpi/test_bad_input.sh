# Bad configs and paths: a clear error naming what to change, a non-zero exit on every rank count
# (no hang), and an existing results file left untouched.
source "$(dirname "$0")/lib.sh"
GRID='grid = { n_params = [600.0]; d_tokens = [2000.0]; };'
BASE='name = "bad"; eval = { tokens = 256; points = 2; };'
STEPS='min_steps = 5; max_steps = 5;'
printf '%s\n%s\ntrain = { %s };\n' "$BASE" "$GRID" "$STEPS" >good.cfg
check "a good config runs" run_np 1 run good.cfg -o keep.h5 --log-level warn
sum_before=$(md5sum keep.h5)

# expect_error NAME "config text" "message fragment"
expect_error() {
  local name=$1 text=$2 needle=$3 np
  printf '%s\n' "$text" >"$name.cfg"
  for np in 1 2; do
    timeout 60 "$MPIEXEC" -np $np --oversubscribe "$SL" run "$name.cfg" -o keep.h5 --resume \
      >out.txt 2>err.txt
    local rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
      fail "$name at $np ranks: exit $rc (expected an error)"
    elif ! grep -qF -- "$needle" err.txt; then
      fail "$name at $np ranks: message lacks '$needle':"
      cat err.txt
    elif [ "$(grep -c '^\(\[rank [0-9]*\] \)\?error:' err.txt)" -ne 1 ]; then
      fail "$name at $np ranks: expected the error once, got:"
      cat err.txt
    else
      ok "$name at $np ranks: $(grep 'error:' err.txt | head -1 | cut -c1-110)"
    fi
  done
}

expect_error unknown_key "$BASE $GRID model = { widht = 8; };" \
  "unknown key 'model.widht' (did you mean 'model.width'?)"
expect_error wrong_type "$BASE $GRID train = { lr = \"fast\"; $STEPS };" \
  "train.lr has the wrong type: it is a string, expected a number"
expect_error n_out_of_range "$BASE grid = { n_params = [10.0]; d_tokens = [2000.0]; };" \
  "grid.n_params[0] = 10 is out of range: allowed 100 to 1e+10"
expect_error d_out_of_range "$BASE grid = { n_params = [600.0]; d_tokens = [1e13]; };" \
  "grid.d_tokens[0] = 1e+13 is out of range"
expect_error empty_grid "$BASE grid = { n_params = []; d_tokens = [2000.0]; };" \
  "an empty grid has no cells"
expect_error missing_axis "$BASE grid = { n_params = [600.0]; };" \
  "missing required key 'grid.d_tokens'"
expect_error syntax "$BASE $GRID seed = ;" "syntax error"
expect_error other_config "$BASE $GRID train = { lr = 0.5; $STEPS };" \
  "was made with another config; differing keys (file vs now): train.lr: 0.003"
check "existing results untouched by every bad config" test "$(md5sum keep.h5)" = "$sum_before"

# Output paths.
for np in 1 2; do
  timeout 60 "$MPIEXEC" -np $np "$SL" run good.cfg -o keep.h5 >out.txt 2>err.txt
  check "existing file refused without --force at $np ranks" \
    bash -c "[ $? -ne 0 ] && grep -q 'already exists: pass --resume' err.txt"
  timeout 60 "$MPIEXEC" -np $np "$SL" run good.cfg -o /nonexistent/dir/r.h5 >out.txt 2>err.txt
  check "missing output directory at $np ranks" \
    bash -c "[ $? -ne 0 ] && grep -q \"directory '/nonexistent/dir' does not exist\" err.txt"
done
mkdir ro && chmod 500 ro
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere; the check means something only for users
  run_np 1 run good.cfg -o ro/r.h5 >out.txt 2>err.txt
  check "unwritable directory" bash -c "[ $? -ne 0 ] && grep -q 'is not writable' err.txt"
fi
check "existing results untouched by refused runs" test "$(md5sum keep.h5)" = "$sum_before"
# --force through a symbolic link replaces the link's target and keeps the link (as analyze does),
# at 2 ranks so that every rank creates the same file.
mkdir -p linked && cp keep.h5 linked/t.h5 && ln -sf linked/t.h5 link.h5
timeout 60 "$MPIEXEC" -np 2 --oversubscribe "$SL" run good.cfg -o link.h5 --force \
  --log-level warn >out.txt 2>err.txt
check "run --force through a symbolic link: exit $?, the link kept, its target rewritten" bash -c \
  "[ -L link.h5 ] && ! cmp -s keep.h5 linked/t.h5 && h5ls linked/t.h5/cells >/dev/null &&
   [ ! -e linked/t.h5.create-tmp ] && [ ! -e link.h5.create-tmp ]"
# A dangling link (its target not made yet, as a link into scratch space often is) gets its target
# created, at 2 ranks; the link stays. A link into a missing directory names that directory.
ln -sf linked/new.h5 dangling.h5
timeout 60 "$MPIEXEC" -np 2 --oversubscribe "$SL" run good.cfg -o dangling.h5 \
  --log-level warn >out.txt 2>err.txt
rc=$?
check "run through a dangling symbolic link: exit $rc, the link kept, its target created" bash -c \
  "[ $rc -eq 0 ] && [ -L dangling.h5 ] && h5ls linked/new.h5/cells >/dev/null &&
   [ ! -e linked/new.h5.create-tmp ]"
ln -sf gone/r.h5 nowhere.h5
timeout 60 "$MPIEXEC" -np 2 --oversubscribe "$SL" run good.cfg -o nowhere.h5 >out.txt 2>err.txt
rc=$?
check "a dangling link into a missing directory: exit $rc, the directory named" bash -c \
  "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ -L nowhere.h5 ] &&
   grep -q \"cannot write nowhere.h5: directory 'gone' does not exist\" err.txt"

# Up-front checks: a cell that cannot fit in memory is refused before anything is written.
printf '%s\ngrid = { n_params = [600.0]; d_tokens = [1e12]; };\n' "$BASE" >huge.cfg
for np in 1 2; do
  timeout 60 "$MPIEXEC" -np $np --oversubscribe "$SL" run huge.cfg -o huge.h5 >out.txt 2>err.txt
  check "a cell too large for memory refused at $np ranks" \
    bash -c "[ $? -ne 0 ] && grep -q 'is available: run fewer ranks per node' err.txt && [ ! -e huge.h5 ]"
done
# --dry-run plans without training or writing.
run_np 2 run smoke --dry-run -o dry.h5 >out.txt 2>err.txt
check "--dry-run prints the plan and writes nothing" \
  bash -c "[ $? -eq 0 ] && grep -q 'expected wall time on 2 ranks' out.txt && [ ! -e dry.h5 ]"

# Not a results file.
echo "not hdf5" >fake.h5
"$SL" status fake.h5 >out.txt 2>err.txt
check "status refuses a non-HDF5 file" bash -c "[ $? -ne 0 ] && grep -q 'fake.h5 is not an HDF5 file' err.txt"
run_np 2 run good.cfg -o fake.h5 --resume >out.txt 2>err.txt
check "resume refuses a non-HDF5 file" bash -c "[ $? -ne 0 ] && grep -q 'not an HDF5 file' err.txt"
check "unknown command" bash -c "! '$SL' frobnicate 2>err.txt && grep -q \"unknown command 'frobnicate'\" err.txt"
check "unknown option" bash -c "! '$SL' run --frobnicate 2>err.txt && grep -q \"unknown option '--frobnicate'\" err.txt"
check "run --help" bash -c "'$SL' run --help | grep -q 'usage: slingshot run'"
check "status --help" bash -c "'$SL' status --help | grep -q 'usage: slingshot status'"
check "bench gemm --help" bash -c "'$SL' bench gemm --help | grep -q 'usage: slingshot bench gemm'"
check "bench gemm refuses an unknown option" \
  bash -c "! '$SL' bench gemm --frobnicate 2>err.txt && grep -q \"unknown option '--frobnicate'\" err.txt"
check "bench gemm --reps 12x refused, naming the range" bash -c \
  "! '$SL' bench gemm --reps 12x 2>err.txt && grep -q \"\-\-reps needs an integer from 1 to 100000, got '12x'\" err.txt"
check "bench hessian --n without a value refused" bash -c \
  "! '$SL' bench hessian --n 2>err.txt && grep -q \"\-\-n needs an integer from 300 to 46340, got '(nothing)'\" err.txt"
check "bench gemm prints its comparison" \
  bash -c "OPENBLAS_NUM_THREADS=1 '$SL' bench gemm --reps 2 >out.txt && grep -q 'as the MLP runs them' out.txt || grep -q 'no AVX2' out.txt"

# bench train talks to the torch twin through its --serve protocol (bench/bench_train_torch.py);
# a stand-in server with fixed 10 ms steps checks the exchange without torch: the MLP's torch
# figure must be B / 10 ms = 51200 tokens/s. A server that dies leaves slingshot's figures.
cat >serve.sh <<'SH'
echo "SERVING torch=stand-in"
while read -r cmd arg; do
  case $cmd in
  build) echo "READY name=$arg n_params=139776 torch=stand-in threads=1" ;;
  steps)
    w="" && i=0
    while [ "$i" -lt "$arg" ]; do w="$w 0.010" && i=$((i + 1)); done
    echo "STEPS$w ;$w" ;;
  quit) exit 0 ;;
  esac
done
SH
printf 'echo "SERVING torch=stand-in"\nread -r x\nexit 1\n' >dies.sh
bench_train() { OPENBLAS_NUM_THREADS=1 "$SL" bench train --model mlp --steps 7 --warmup 1 --rounds 2 "$@"; }
check "bench train --help" bash -c "'$SL' bench train --help | grep -q 'usage: slingshot bench train'"
bench_train --torch /bin/sh --script serve.sh >out.txt 2>err.txt
rc=$?
check "bench train: slingshot and the stand-in torch alternate, exit $rc" bash -c \
  "[ $rc -eq 0 ] && [ \$(grep -c 'ms CPU in torch stand-in: 51200 tokens/s wall, 51200 per CPU second' out.txt) -eq 2 ] &&
   grep -q '^  mlp .*x .*>= 2.0x torch: ' out.txt &&
   [ \$(grep -c '^ *matmuls [0-9.]* ms of the median step (.*MFLOP at' out.txt) -eq 2 ] &&
   grep -q '^  mlp .* 10.00 .*x   .* ms (2.0x needs a step of 5.00 ms); .* at the sgemm rate' out.txt"
bench_train --torch /bin/sh --script dies.sh >out.txt 2>err.txt
rc=$?
check "bench train: a torch server that dies leaves slingshot's figures, exit $rc" bash -c \
  "[ $rc -eq 0 ] && grep -q \"PyTorch comparison failed: 'build mlp' answered\" out.txt &&
   grep -q '>= 2.0x torch: no torch' out.txt"
bench_train --torch /nonexistent/python >out.txt 2>err.txt
check "bench train: a missing python is named, exit $?" \
  grep -q 'skipped: /nonexistent/python is not an executable' out.txt
finish
