#!/bin/bash
# slingshot on PBS Pro: one job-array subjob per slice of the grid, each into its own part file
# (README, "Running on a cluster"). PBS passes no arguments to a script, so CONFIG and SLICES
# (K) come with -v; the subjob indices 0..K-1 are the slices:
#
#   qsub -J 0-3 -v CONFIG=$PWD/experiments/default.cfg,SLICES=4 hpc/pbs-array.sh
#   qsub -W depend=afterok:ARRAY_ID -v CONFIG=...,SLICES=4 hpc/merge-analyze.sh
#                                        (ARRAY_ID as qsub printed it, e.g. 1234[].server)
#   qsub -J 1-3:2 -v CONFIG=...,SLICES=4 hpc/pbs-array.sh      # later: resubmit slices 1 and 3
#
# Every run passes --resume, so a resubmitted subjob continues its part file. Torque's
# PBS_ARRAYID is read as well (qsub -t 0-3 there). SLINGSHOT, SLINGSHOT_DIR, SLINGSHOT_MPI_ARGS,
# SLINGSHOT_RUN_ARGS as in hpc/slurm-array.sh.
#PBS -N slingshot
#PBS -J 0-3
#PBS -l select=1:ncpus=4:mpiprocs=4
#PBS -l walltime=04:00:00
#PBS -j oe
set -uo pipefail
cd "${PBS_O_WORKDIR:-.}"
: "${CONFIG:?give CONFIG and SLICES with qsub -v CONFIG=...,SLICES=K}"
: "${SLICES:?give CONFIG and SLICES with qsub -v CONFIG=...,SLICES=K}"
TASK=${PBS_ARRAY_INDEX:-${PBS_ARRAYID:?not in a job array: submit with qsub -J 0-(K-1)}}
SL=${SLINGSHOT:-slingshot}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
[ -f "$CONFIG" ] && CONFIG=$(realpath "$CONFIG")
mkdir -p "${SLINGSHOT_DIR:-.}" && cd "${SLINGSHOT_DIR:-.}" || exit 1
echo "slingshot: slice $TASK of $SLICES, $(date -u)"
mpirun ${SLINGSHOT_MPI_ARGS:-} "$SL" run "$CONFIG" --array-task "$TASK" --array-count "$SLICES" \
  --resume ${SLINGSHOT_RUN_ARGS:-} &
pid=$!
# PBS sends SIGTERM before SIGKILL at the wall-time limit (kill_delay); mpirun passes it on and
# the ranks checkpoint their cells.
trap 'kill -TERM $pid' TERM
trap 'kill -USR1 $pid' USR1
while :; do
  wait $pid
  rc=$?
  kill -0 $pid 2>/dev/null || break
done
exit $rc
