#!/bin/bash
# slingshot on SLURM: one job-array task per slice of the grid, each into its own part file
# (README, "Running on a cluster"). K slices are array tasks 0..K-1:
#
#   sbatch --array=0-3 hpc/slurm-array.sh CONFIG 4        # first submission, K = 4
#   sbatch --array=1,3 hpc/slurm-array.sh CONFIG 4        # later: the slices status lists
#
# or both this and the merge/analyze job at once: hpc/submit-slurm.sh CONFIG 4.
# Every run passes --resume, so a resubmitted (or requeued) task continues its part file: its
# finished cells are kept and its running cells continue from their checkpoints.
#
# Environment (sbatch passes it on to the job):
#   SLINGSHOT             the slingshot binary (default: slingshot on PATH)
#   SLINGSHOT_DIR         folder of the part files NAME.part-I-of-K.h5 (default: the current one)
#   SLINGSHOT_LAUNCH      mpirun (default) or srun (srun --mpi=pmix: SLURM starts the ranks)
#   SLINGSHOT_MPI_ARGS    more arguments for mpirun / srun (e.g. --oversubscribe)
#   SLINGSHOT_RUN_ARGS    more arguments for slingshot run (e.g. --checkpoint-every 200)
#
# Change the resources below to the size of your cells (slingshot run CONFIG --dry-run prints
# them, and slingshot run CONFIG --array-task I --array-count K --dry-run a slice).
#SBATCH --job-name=slingshot
#SBATCH --array=0-3
#SBATCH --ntasks=4
#SBATCH --cpus-per-task=1
#SBATCH --time=04:00:00
#SBATCH --signal=B:USR1@120
#SBATCH --output=slingshot-%A_%a.out
set -uo pipefail
usage="usage: sbatch --array=0-(K-1) hpc/slurm-array.sh CONFIG K"
CONFIG=${1:?$usage}
SLICES=${2:?$usage}
: "${SLURM_ARRAY_TASK_ID:?not in a job array: $usage}"
SL=${SLINGSHOT:-slingshot}
DIR=${SLINGSHOT_DIR:-.}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} # one BLAS thread per rank
[ -f "$CONFIG" ] && CONFIG=$(realpath "$CONFIG")       # a file; else a built-in name
mkdir -p "$DIR" && cd "$DIR" || exit 1

case ${SLINGSHOT_LAUNCH:-mpirun} in
mpirun) launch=(mpirun ${SLINGSHOT_MPI_ARGS:-}) ;;
srun) launch=(srun --mpi=pmix ${SLINGSHOT_MPI_ARGS:-}) ;;
*) echo "SLINGSHOT_LAUNCH must be mpirun or srun" >&2 && exit 2 ;;
esac
echo "slingshot: slice $SLURM_ARRAY_TASK_ID of $SLICES, ${SLURM_NTASKS:-?} ranks, $(date -u)"
"${launch[@]}" "$SL" run "$CONFIG" --array-task "$SLURM_ARRAY_TASK_ID" --array-count "$SLICES" \
  --resume ${SLINGSHOT_RUN_ARGS:-} &
pid=$!
# --signal=B:USR1@120 signals this shell 120 s before the time limit; mpirun and srun pass
# SIGUSR1 on to the ranks, which checkpoint their cells (the periodic checkpoints bound the loss
# otherwise). Resubmit the slices `slingshot status` lists to continue.
trap 'echo "slingshot: SIGUSR1 (time limit near), passing it to the ranks"; kill -USR1 $pid' USR1
trap 'kill -TERM $pid' TERM
while :; do
  wait $pid
  rc=$?
  kill -0 $pid 2>/dev/null || break # wait returned for a signal: the run is still going
done
echo "slingshot: slice $SLURM_ARRAY_TASK_ID exit status $rc, $(date -u)"
exit $rc
