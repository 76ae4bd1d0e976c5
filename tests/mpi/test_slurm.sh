# A real single-node SLURM on loopback, started and stopped here: munged with a generated key,
# slurmctld and slurmd (run as root, no cgroups) from a minimal slurm.conf in a temporary folder.
# hpc/submit-slurm.sh submits the job-array template (hpc/slurm-array.sh) for the smoke grid in
# 3 slices, once with mpirun inside the allocation and once with srun --mpi=pmix, each followed
# by the afterok merge-and-analyze job (hpc/merge-analyze.sh); each merged file must equal one
# mpirun run of the same grid. Then a lost part is resubmitted from status's --array list.
# Exits 77 (ctest: skipped) only when SLURM cannot run here, saying why.
source "$(dirname "$0")/lib.sh"
export PATH=$PATH:/usr/sbin:/sbin
skip() {
  echo "SKIP: $*"
  exit 77
}
for b in munged mungekey slurmctld slurmd sbatch scontrol sinfo srun scancel; do
  command -v $b >/dev/null || skip "$b is not installed (bash hpc/setup-debian.sh installs slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip "the test runs slurmd as root (SlurmdUser=root); run it as root"

S=$WORK/slurm
mkdir -p "$S/state" "$S/spool" "$WORK/out"
chmod 755 "$WORK" "$S"
export SLURM_CONF=$S/slurm.conf
stop_slurm() {
  scancel --quiet --user=root 2>/dev/null
  local d pids=""
  for d in slurmd slurmctld munged; do
    [ -s "$S/$d.pid" ] && pids="$pids $(cat "$S/$d.pid")"
  done
  [ -n "$pids" ] || return 0
  kill $pids 2>/dev/null
  for _ in $(seq 1 50); do
    kill -0 $pids 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 $pids 2>/dev/null
}
trap 'stop_slurm; rm -rf "$WORK"' EXIT

mungekey -c -k "$S/munge.key" || skip "mungekey could not make a key"
chmod 400 "$S/munge.key"
munged --force --key-file="$S/munge.key" --socket="$S/munge.sock" --pid-file="$S/munged.pid" \
  --seed-file="$S/munged.seed" --log-file="$S/munged.log" ||
  skip "munged does not start here: $(tail -2 "$S/munged.log" 2>/dev/null)"
port=$((20000 + RANDOM % 30000))
cat >"$SLURM_CONF" <<CONF
ClusterName=slingshot-test
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge.sock
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
NodeName=slnode NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=slnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
slurmctld || skip "slurmctld does not start here: $(tail -3 "$S/slurmctld.log" 2>/dev/null)"
slurmd -N slnode || skip "slurmd does not start here: $(tail -3 "$S/slurmd.log" 2>/dev/null)"
for _ in $(seq 1 100); do
  [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
  sleep 0.2
done
[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] ||
  skip "the SLURM node did not come up: $(tail -3 "$S/slurmd.log" "$S/slurmctld.log" 2>/dev/null)"
ok "single-node SLURM up on 127.0.0.1:$port ($(sinfo -V))"
srun --mpi=list 2>&1 | grep -q pmix && pmix=1 || pmix=0

# The reference: the whole grid in one mpirun run.
check "reference: smoke grid, one mpirun run at 2 ranks" run_np 2 run smoke -o ref.h5 --log-level warn

# wait_job ID SECONDS: until every job of ID has ended; prints their states.
wait_job() {
  local states
  for _ in $(seq 1 $((5 * $2))); do
    states=$(scontrol -o show job "$1" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p')
    echo "$states" | grep -q -E 'PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUED' || break
    sleep 0.2
  done
  echo $states
}
SBATCH_OPTS=(--ntasks=2 --overcommit --time=5 --output="$WORK/out/%x-%j.out")
submit() { # submit DIR LAUNCH [--array LIST]: the array and its merge job; sets ARRAY_JOB MERGE_JOB
  local dir=$1 launch=$2
  shift 2
  local ids
  ids=$(SLINGSHOT=$SL SLINGSHOT_DIR=$WORK/$dir SLINGSHOT_LAUNCH=$launch \
    SLINGSHOT_MPI_ARGS=$([ "$launch" = mpirun ] && echo --oversubscribe) \
    SLINGSHOT_ANALYZE_ARGS="--bootstrap 20" \
    bash "$SRC/hpc/submit-slurm.sh" smoke 3 "$@" -- "${SBATCH_OPTS[@]}" | tail -1)
  ARRAY_JOB=${ids% *}
  MERGE_JOB=${ids#* }
}
variants=(mpirun)
[ $pmix = 1 ] && variants+=(srun) || echo "note: this SLURM has no pmix plugin: srun --mpi=pmix variant not run"
declare -A arrays merges
for v in "${variants[@]}"; do
  submit "run-$v" "$v"
  arrays[$v]=$ARRAY_JOB
  merges[$v]=$MERGE_JOB
  echo "$v: array job $ARRAY_JOB, merge job $MERGE_JOB"
done
show_logs() { tail -n 30 "$WORK"/out/*.out; }
for v in "${variants[@]}"; do
  st=$(wait_job "${merges[$v]}" 120)
  echo "$v: jobs ended at ${SECONDS} s"
  check "$v: the afterok merge+analyze job completed ($st)" test "$st" = COMPLETED || show_logs
  st=$(wait_job "${arrays[$v]}" 5)
  check "$v: the 3 array tasks completed ($st)" test "$st" = "COMPLETED COMPLETED COMPLETED"
  ranks=$(for i in 0 1 2; do h5dump -a /mpi_ranks "$WORK/run-$v/smoke.part-$i-of-3.h5" | sed -n 's/^ *(0): *//p'; done)
  check "$v: every part ran on 2 ranks under SLURM ($(echo $ranks))" test "$(echo $ranks)" = "2 2 2"
  check "$v: merged file == the single mpirun run" same_results ref.h5 "$WORK/run-$v/smoke.h5"
  check "$v: status of the merged file: all done" bash -c "'$SL' status '$WORK/run-$v/smoke.h5' | grep -q '8 cells: 8 done, 0 todo'"
  check "$v: analyze wrote its report" test -s "$WORK/run-$v/smoke_report/report.md"
done

# A lost part: status lists its slice, resubmitting that list (runs pass --resume) and the merge
# job again completes the grid.
D=$WORK/run-mpirun
rm -f "$D/smoke.part-1-of-3.h5" "$D/smoke.h5"
list=$("$SL" status --array "$D"/smoke.part-*-of-3.h5)
check "status --array lists the lost slice ($list)" test "$list" = 1
submit run-mpirun mpirun --array "$list"
st=$(wait_job "$MERGE_JOB" 120)
check "resubmitted slice and merge job completed ($st)" test "$st" = COMPLETED || show_logs
check "resubmitted: merged == the single mpirun run" same_results ref.h5 "$D/smoke.h5"
check "resubmitted: status over the parts says nothing is left" bash -c "'$SL' status '$D'/smoke.part-*-of-3.h5 | grep -q 'nothing left to run'"
finish
