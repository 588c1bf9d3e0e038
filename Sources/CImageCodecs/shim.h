// libpng (JPEG goes through the CJPEGDecoding C target, which owns libjpeg's setjmp/longjmp
// error handling).
#ifndef PARSEVAL_CIMAGECODECS_SHIM_H
#define PARSEVAL_CIMAGECODECS_SHIM_H
#include <png.h>
#endif
