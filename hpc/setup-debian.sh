#!/usr/bin/env bash
# Installs what slingshot needs to build, test and draw figures on Debian 12 (or a Debian-based
# cluster image). Idempotent: packages already present are not fetched again. Run as root (or
# with sudo available).
set -euo pipefail
PACKAGES=(build-essential cmake pkg-config
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libscalapack-openmpi-dev libopenblas-dev liblapack-dev
  libgsl-dev libcunit1-dev libconfig-dev
  gnuplot-nox
  valgrind clang libclang-rt-14-dev python3-h5py)
# SLURM and munge for the integration test tests/mpi/test_slurm.sh (it starts its own daemons on
# loopback; the packages' services stay unconfigured). Left out where a SLURM not from Debian is
# already installed (a cluster's own), which Debian's packages would conflict with, or with
# SLINGSHOT_NO_SLURM=1.
if [ -z "${SLINGSHOT_NO_SLURM:-}" ] && { ! command -v sbatch >/dev/null 2>&1 ||
  dpkg-query -W -f='${Status}' slurm-client 2>/dev/null | grep -q "install ok installed"; }; then
  PACKAGES+=(slurm-wlm munge)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
