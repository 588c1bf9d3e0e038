#!/usr/bin/env bash
# Installs the native packages Parseval builds against, only those missing.
# Idempotent and non-interactive; needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

packages=(
  libopenmpi-dev openmpi-bin          # MPI collectives and mpirun
  libfftw3-dev libfftw3-mpi-dev       # FFTW single precision, threads, MPI
  libopenblas-dev                     # cblas_sgemm where oneDNN is absent
  libjpeg-dev libpng-dev              # image decoding
  pkg-config                          # SwiftPM finds the libraries through it
  gnuplot-nox                         # launch/scaling.sh plots
  iproute2                            # scripts/cluster-sim.sh: namespaces, veth, bridge, tc
  slurmctld slurmd slurm-client munge # scripts/slurm-sim.sh: a SLURM cluster for SlurmTests
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
updated=0
update_once() {
  if [ "$updated" -eq 0 ]; then "${sudo_cmd[@]}" apt-get update -qq; updated=1; fi
}

# oneDNN: the matrix engine (kernels JIT-compiled for the CPU present, bf16). Parseval loads it
# at run time and runs on OpenBLAS without it, so it is installed where the distribution ships
# it (Debian 12: 2.6 on amd64; Ubuntu 24.04: 3.x) and skipped with a message elsewhere.
if ! installed libdnnl-dev; then
  apt-cache show libdnnl-dev >/dev/null 2>&1 || update_once
  if apt-cache show libdnnl-dev >/dev/null 2>&1; then
    packages+=(libdnnl-dev)
  else
    echo "setup: this distribution ships no libdnnl-dev; matrix products will run on OpenBLAS"
  fi
fi

missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: native packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
update_once
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
