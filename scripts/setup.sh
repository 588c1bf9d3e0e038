#!/usr/bin/env bash
# Installs the native packages Parseval builds against, only those missing.
# Idempotent and non-interactive; needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

packages=(
  libopenmpi-dev openmpi-bin          # MPI collectives and mpirun
  libfftw3-dev libfftw3-mpi-dev       # FFTW single precision, threads, MPI
  libopenblas-dev                     # cblas_sgemm
  libjpeg-dev libpng-dev              # image decoding
  pkg-config                          # SwiftPM finds the libraries through it
  gnuplot-nox                         # launch/scaling.sh plots
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: native packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
