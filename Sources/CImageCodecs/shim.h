// libjpeg-turbo and libpng. jpeglib.h needs stdio.h (FILE) before it.
#ifndef PARSEVAL_CIMAGECODECS_SHIM_H
#define PARSEVAL_CIMAGECODECS_SHIM_H
#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
#endif
