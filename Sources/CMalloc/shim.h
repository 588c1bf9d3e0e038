// glibc's malloc tuning (mallopt), which Swift's Glibc module does not export.
#ifndef PARSEVAL_CMALLOC_SHIM_H
#define PARSEVAL_CMALLOC_SHIM_H
#include <malloc.h>
#endif
