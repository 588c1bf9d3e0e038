// OpenBLAS's cblas.h (pkg-config openblas puts openblas-pthread/ on the include path),
// which also declares openblas_set_num_threads and openblas_get_config.
#ifndef PARSEVAL_CBLAS_SHIM_H
#define PARSEVAL_CBLAS_SHIM_H
#include <cblas.h>
#endif
