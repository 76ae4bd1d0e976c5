#!/bin/bash
# After a job array (hpc/slurm-array.sh or hpc/pbs-array.sh): merge the part files into one
# results file and analyze it. Submitted to run when every slice has succeeded:
#
#   SLURM: sbatch --dependency=afterok:ARRAY_JOB_ID hpc/merge-analyze.sh CONFIG K
#   PBS:   qsub -W depend=afterok:ARRAY_JOB_ID -v CONFIG=...,SLICES=K hpc/merge-analyze.sh
#
# (hpc/submit-slurm.sh does the SLURM one for you.) It prints the status over the parts, merges
# them into DIR/NAME.h5 (replacing an earlier merge), and writes the report to DIR/NAME_report/.
# Missing cells are reported (with the --array= list to resubmit) and left todo in NAME.h5.
# Environment: SLINGSHOT, SLINGSHOT_DIR, SLINGSHOT_LAUNCH, SLINGSHOT_MPI_ARGS as in the array
# script; SLINGSHOT_ANALYZE_ARGS for slingshot analyze (e.g. --bootstrap 200).
#SBATCH --job-name=slingshot-merge
#SBATCH --ntasks=2
#SBATCH --time=01:00:00
#SBATCH --output=slingshot-merge-%j.out
#PBS -N slingshot-merge
#PBS -l select=1:ncpus=2:mpiprocs=2
#PBS -l walltime=01:00:00
#PBS -j oe
set -euo pipefail
[ -n "${PBS_O_WORKDIR:-}" ] && cd "$PBS_O_WORKDIR"
usage="usage: hpc/merge-analyze.sh CONFIG K (or CONFIG and SLICES in the environment)"
CONFIG=${1:-${CONFIG:?$usage}}
SLICES=${2:-${SLICES:?$usage}}
SL=${SLINGSHOT:-slingshot}
DIR=${SLINGSHOT_DIR:-.}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
[ -f "$CONFIG" ] && CONFIG=$(realpath "$CONFIG")
cd "$DIR"
NAME=$("$SL" run "$CONFIG" --print-config | sed -n 's/^name = "\(.*\)";$/\1/p')
parts=()
for ((i = 0; i < SLICES; i++)); do
  [ -f "$NAME.part-$i-of-$SLICES.h5" ] && parts+=("$NAME.part-$i-of-$SLICES.h5")
done
[ ${#parts[@]} -gt 0 ] || { echo "no part files $NAME.part-*-of-$SLICES.h5 in $PWD" >&2; exit 1; }
"$SL" status "${parts[@]}"
"$SL" merge "${parts[@]}" -o "$NAME.h5" --force
case ${SLINGSHOT_LAUNCH:-mpirun} in
srun) launch=(srun --mpi=pmix ${SLINGSHOT_MPI_ARGS:-}) ;;
*) launch=(mpirun ${SLINGSHOT_MPI_ARGS:-}) ;;
esac
"${launch[@]}" "$SL" analyze "$NAME.h5" -o "${NAME}_report" ${SLINGSHOT_ANALYZE_ARGS:-}
echo "slingshot: merged $PWD/$NAME.h5, report in $PWD/${NAME}_report/"
