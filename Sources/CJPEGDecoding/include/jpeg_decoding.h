// JPEG decoding and encoding through libjpeg(-turbo) with the standard setjmp/longjmp error
// handling, which Swift cannot express itself. Every call is self-contained (no global
// state), so calls on different threads may run concurrently.
#ifndef PARSEVAL_JPEG_DECODING_H
#define PARSEVAL_JPEG_DECODING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Room for a message (libjpeg's own are at most 200 bytes); pass a buffer this large.
#define PV_JPEG_MESSAGE_CAPACITY 256

/// Results of `pv_jpeg_decode` and `pv_jpeg_encode`.
enum {
    /// Success: the output buffer is set and must be released with `pv_jpeg_free`.
    PV_JPEG_OK = 0,
    /// libjpeg could not read or write the image (a fatal libjpeg error, or an unsupported
    /// image); `message` says why.
    PV_JPEG_FAILED = 1,
    /// The image decoded, but libjpeg warned about corrupt data it worked around (for
    /// example "Premature end of JPEG file"); `message` holds the first warning and no
    /// pixels are returned.
    PV_JPEG_CORRUPT = 2,
};

/// Decodes `size` bytes of JPEG into 8-bit gray (`channels` 1) or interleaved RGB (3),
/// converted by libjpeg (gray sources are replicated into RGB; colour sources are reduced
/// to luma for gray). CMYK and YCCK sources (print workflows; a few dozen of ImageNet's
/// training images) are read as CMYK and converted here: R = (255 − C)(255 − K)/255 and
/// likewise G, B — with the values inverted first when an Adobe marker says they are stored
/// inverted, as Photoshop writes them — then to luma for gray with libjpeg's weights.
///
/// On `PV_JPEG_OK`, `*pixels` is a malloc'd buffer of `*width × *height × channels` bytes,
/// row-major, that the caller releases with `pv_jpeg_free`. Otherwise `*pixels` is NULL,
/// nothing is left allocated, and `message` (NUL-terminated, truncated to
/// `message_capacity`) holds libjpeg's message.
int pv_jpeg_decode(const unsigned char *data, size_t size, int channels,
                   unsigned char **pixels, int *width, int *height,
                   char *message, size_t message_capacity);

/// Encodes `width × height × channels` bytes of 8-bit gray (`channels` 1) or interleaved
/// RGB (3) as a baseline JPEG at `quality` (1–100).
///
/// On `PV_JPEG_OK`, `*jpeg` is a malloc'd buffer of `*size` bytes that the caller releases
/// with `pv_jpeg_free`. Otherwise `*jpeg` is NULL and `message` holds libjpeg's message.
int pv_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                   unsigned char **jpeg, size_t *size,
                   char *message, size_t message_capacity);

/// Releases a buffer returned by `pv_jpeg_decode` or `pv_jpeg_encode` (NULL is fine).
void pv_jpeg_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
