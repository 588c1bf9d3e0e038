// FFTW single precision: serial, threads and MPI interfaces.
#ifndef PARSEVAL_CFFTW_SHIM_H
#define PARSEVAL_CFFTW_SHIM_H
#include <fftw3.h>
#include <fftw3-mpi.h>

// fftwf_version is `const char[]` of unknown size, which Swift cannot import.
static inline const char *pv_fftwf_version(void) { return fftwf_version; }
#endif
