// libjpeg's documented error handling (libjpeg.txt, "Error handling"; example.c): the error
// manager is embedded in a struct with a jmp_buf, `error_exit` formats libjpeg's message and
// longjmps back to the call that started the session, which destroys the libjpeg object and
// frees what it allocated. Swift calls these functions; it never sees a longjmp.
#include "jpeg_decoding.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/// The largest decoded image accepted, in pixels (as PNGCodec).
#define PV_JPEG_MAX_PIXELS ((size_t)1 << 28)

/// libjpeg's error manager with what it needs to escape and to report.
typedef struct {
    struct jpeg_error_mgr manager;  // first, so libjpeg's `err` pointer converts back to this
    jmp_buf escape;
    char *message;
    size_t message_capacity;
    int warned;  // a corrupt-data warning was recorded
} pv_jpeg_errors;

static void pv_jpeg_set_message(pv_jpeg_errors *errors, const char *text) {
    if (errors->message_capacity > 0) snprintf(errors->message, errors->message_capacity, "%s", text);
}

static void pv_jpeg_record(j_common_ptr cinfo) {
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    pv_jpeg_set_message((pv_jpeg_errors *)cinfo->err, text);
}

/// libjpeg's fatal-error hook, which must not return: keep the message and escape.
static void pv_jpeg_error_exit(j_common_ptr cinfo) {
    pv_jpeg_record(cinfo);
    longjmp(((pv_jpeg_errors *)cinfo->err)->escape, 1);
}

/// libjpeg's message hook: level −1 is a warning about corrupt data that libjpeg worked
/// around ("Corrupt JPEG data: …", "Premature end of JPEG file"); the first one is kept.
/// Other levels are trace output and are dropped.
static void pv_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;
    pv_jpeg_errors *errors = (pv_jpeg_errors *)cinfo->err;
    if (!errors->warned) pv_jpeg_record(cinfo);
    errors->warned = 1;
    cinfo->err->num_warnings++;
}

static struct jpeg_error_mgr *pv_jpeg_errors_init(pv_jpeg_errors *errors, char *message, size_t capacity) {
    memset(errors, 0, sizeof *errors);
    errors->message = message;
    errors->message_capacity = capacity;
    pv_jpeg_set_message(errors, "");
    struct jpeg_error_mgr *manager = jpeg_std_error(&errors->manager);
    manager->error_exit = pv_jpeg_error_exit;
    manager->emit_message = pv_jpeg_emit_message;
    return manager;
}

/// One row of CMYK (inverted: Adobe's convention, 255 = no ink) to RGB, or to luma with
/// libjpeg's integer weights (0.299, 0.587, 0.114 in 16-bit fixed point) for gray.
static void pv_cmyk_row_to_rgb_or_gray(const JSAMPLE *cmyk, unsigned char *out, size_t columns, int channels, int inverted) {
    for (size_t x = 0; x < columns; x++) {
        unsigned ink[4];
        for (int i = 0; i < 4; i++) ink[i] = inverted ? 255u - cmyk[4 * x + i] : cmyk[4 * x + i];
        unsigned rgb[3];
        for (int i = 0; i < 3; i++) rgb[i] = ((255u - ink[i]) * (255u - ink[3]) + 127u) / 255u;
        if (channels == 3) {
            for (int i = 0; i < 3; i++) out[3 * x + i] = (unsigned char)rgb[i];
        } else {
            out[x] = (unsigned char)((19595u * rgb[0] + 38470u * rgb[1] + 7471u * rgb[2] + 32768u) >> 16);
        }
    }
}

int pv_jpeg_decode(const unsigned char *data, size_t size, int channels,
                   unsigned char **pixels, int *width, int *height,
                   char *message, size_t message_capacity) {
    struct jpeg_decompress_struct cinfo;
    pv_jpeg_errors errors;
    unsigned char *volatile output = NULL;  // volatile: read after a longjmp
    *pixels = NULL;
    *width = 0;
    *height = 0;
    memset(&cinfo, 0, sizeof cinfo);  // so that destroying it is safe if creating it fails
    cinfo.err = pv_jpeg_errors_init(&errors, message, message_capacity);
    if (channels != 1 && channels != 3) {
        pv_jpeg_set_message(&errors, "channels must be 1 or 3");
        return PV_JPEG_FAILED;
    }
    if (setjmp(errors.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(output);
        return PV_JPEG_FAILED;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    (void)jpeg_read_header(&cinfo, TRUE);
    const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : (channels == 1 ? JCS_GRAYSCALE : JCS_RGB);
    (void)jpeg_start_decompress(&cinfo);
    size_t columns = cinfo.output_width, rows = cinfo.output_height;
    if (cinfo.output_components != (cmyk ? 4 : channels) || columns * rows > PV_JPEG_MAX_PIXELS) {
        if (message_capacity > 0)
            snprintf(message, message_capacity, "unsupported JPEG: %d components, %zu\u00D7%zu",
                     cinfo.output_components, columns, rows);
        jpeg_destroy_decompress(&cinfo);
        return PV_JPEG_FAILED;
    }
    size_t row_bytes = columns * (size_t)channels;
    output = malloc(row_bytes * rows > 0 ? row_bytes * rows : 1);
    if (output == NULL) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 0);
    // CMYK rows arrive in a per-image row buffer from libjpeg's pool (freed with the decoder).
    JSAMPARRAY cmyk_row = cmyk ? (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, (JDIMENSION)(columns * 4), 1) : NULL;
    const int inverted = cmyk && cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = output + (size_t)cinfo.output_scanline * row_bytes;
        // The memory source never suspends, so each call yields a row; guard regardless.
        if (jpeg_read_scanlines(&cinfo, cmyk ? cmyk_row : &row, 1) != 1) {
            pv_jpeg_set_message(&errors, "libjpeg stopped before the last row");
            jpeg_destroy_decompress(&cinfo);
            free(output);
            return PV_JPEG_FAILED;
        }
        if (cmyk) pv_cmyk_row_to_rgb_or_gray(cmyk_row[0], row, columns, channels, inverted);
    }
    (void)jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (errors.warned) {  // message holds the first warning
        free(output);
        return PV_JPEG_CORRUPT;
    }
    *pixels = output;
    *width = (int)columns;
    *height = (int)rows;
    return PV_JPEG_OK;
}

/// A growing malloc'd output buffer that, unlike `jpeg_mem_dest`'s, stays ours to free when
/// compression fails midway.
typedef struct {
    struct jpeg_destination_mgr manager;  // first, so libjpeg's `dest` pointer converts back
    unsigned char *buffer;
    size_t capacity;
    size_t size;
} pv_jpeg_destination;

static void pv_jpeg_init_destination(j_compress_ptr cinfo) {
    pv_jpeg_destination *destination = (pv_jpeg_destination *)cinfo->dest;
    destination->capacity = (size_t)1 << 16;
    destination->buffer = malloc(destination->capacity);
    if (destination->buffer == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    destination->manager.next_output_byte = destination->buffer;
    destination->manager.free_in_buffer = destination->capacity;
}

/// Called when the buffer is full: double it.
static boolean pv_jpeg_empty_output_buffer(j_compress_ptr cinfo) {
    pv_jpeg_destination *destination = (pv_jpeg_destination *)cinfo->dest;
    size_t grown = destination->capacity * 2;
    unsigned char *larger = realloc(destination->buffer, grown);
    if (larger == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    destination->buffer = larger;
    destination->manager.next_output_byte = larger + destination->capacity;
    destination->manager.free_in_buffer = grown - destination->capacity;
    destination->capacity = grown;
    return TRUE;
}

static void pv_jpeg_term_destination(j_compress_ptr cinfo) {
    pv_jpeg_destination *destination = (pv_jpeg_destination *)cinfo->dest;
    destination->size = destination->capacity - destination->manager.free_in_buffer;
}

int pv_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                   unsigned char **jpeg, size_t *size,
                   char *message, size_t message_capacity) {
    struct jpeg_compress_struct cinfo;
    pv_jpeg_errors errors;
    pv_jpeg_destination destination;
    *jpeg = NULL;
    *size = 0;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&destination, 0, sizeof destination);
    cinfo.err = pv_jpeg_errors_init(&errors, message, message_capacity);
    if (setjmp(errors.escape)) {
        jpeg_destroy_compress(&cinfo);
        free(destination.buffer);
        return PV_JPEG_FAILED;
    }
    jpeg_create_compress(&cinfo);
    destination.manager.init_destination = pv_jpeg_init_destination;
    destination.manager.empty_output_buffer = pv_jpeg_empty_output_buffer;
    destination.manager.term_destination = pv_jpeg_term_destination;
    cinfo.dest = &destination.manager;
    // Negative sizes become huge dimensions, which libjpeg rejects with its own message.
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t row_bytes = (size_t)cinfo.image_width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        // libjpeg only reads the rows; its API just lacks the const.
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * row_bytes);
        (void)jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *jpeg = destination.buffer;
    *size = destination.size;
    return PV_JPEG_OK;
}

void pv_jpeg_free(void *buffer) {
    free(buffer);
}
