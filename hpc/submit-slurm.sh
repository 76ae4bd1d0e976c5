#!/bin/bash
# Submits a slingshot grid to SLURM as a job array of K slices plus the job that merges and
# analyzes the parts once every slice has succeeded (--dependency=afterok).
#
#   hpc/submit-slurm.sh CONFIG K [--array LIST] [-- SBATCH_OPTIONS...]
#
#   hpc/submit-slurm.sh experiments/default.cfg 8                 # slices 0-7, then merge
#   hpc/submit-slurm.sh experiments/default.cfg 8 --array 2,5     # resubmit what status lists
#   hpc/submit-slurm.sh smoke 3 -- --partition=short --ntasks=2   # options for both jobs
#
# Prints the two job ids (also as the last line, "ARRAY_ID MERGE_ID", for scripts). The
# environment (SLINGSHOT, SLINGSHOT_DIR, SLINGSHOT_LAUNCH, ...) reaches both jobs; see
# hpc/slurm-array.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
usage="usage: hpc/submit-slurm.sh CONFIG K [--array LIST] [-- SBATCH_OPTIONS...]"
CONFIG=${1:?$usage}
SLICES=${2:?$usage}
shift 2
ARRAY="0-$((SLICES - 1))"
while [ $# -gt 0 ]; do
  case $1 in
  --array) ARRAY=${2:?$usage} && shift 2 ;;
  --array=*) ARRAY=${1#--array=} && shift ;;
  --) shift && break ;;
  *) echo "$usage" >&2 && exit 2 ;;
  esac
done
[ -f "$CONFIG" ] && CONFIG=$(realpath "$CONFIG")
array=$(sbatch --parsable --array="$ARRAY" "$@" "$HERE/slurm-array.sh" "$CONFIG" "$SLICES")
array=${array%%;*} # "id;cluster" on federated clusters
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes "$@" \
  "$HERE/merge-analyze.sh" "$CONFIG" "$SLICES")
merge=${merge%%;*}
echo "array job $array: slices $ARRAY of $SLICES; merge and analyze: job $merge (after all succeed)"
echo "watch:  squeue -j $array,$merge   and   slingshot status ${SLINGSHOT_DIR:-.}/*.part-*-of-$SLICES.h5"
echo "$array $merge"
