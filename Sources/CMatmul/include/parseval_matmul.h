// Matrix products through oneDNN, loaded at run time (dlopen), with OpenBLAS as the fallback
// the Swift side chooses when oneDNN is absent. One source builds against oneDNN's v2 C API
// (Debian 12: 2.6) and its v3 API (Ubuntu 24.04: 3.1, later distributions 3.x); without
// oneDNN's headers it builds with oneDNN reported as not compiled in. docs/architecture.md
// says why oneDNN and why it is loaded rather than linked.
#ifndef PARSEVAL_MATMUL_H
#define PARSEVAL_MATMUL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads oneDNN once per process; 1 when its products can be used, 0 otherwise
/// (`pv_onednn_status` says why). Safe to call from any thread.
int pv_onednn_load(void);

/// Why oneDNN is not in use, or "" when it is.
const char *pv_onednn_status(void);

/// "oneDNN 2.6.3 (libdnnl.so.2, OpenMP)"; "" when not loaded.
const char *pv_onednn_version(void);

/// The instruction set oneDNN's kernels dispatch to on this CPU ("avx512_core_bf16", …).
const char *pv_onednn_isa(void);

/// 1 when the CPU has bf16 dot-product instructions oneDNN uses (AVX512-BF16, AMX-BF16,
/// AVX-NE-CONVERT with v3); 0 otherwise.
int pv_onednn_has_bf16_instructions(void);

/// Row-major C ← alpha · op(A) · op(B) + beta · C in fp32 (`dnnl_sgemm`) on `threads` threads.
/// Returns 0, or oneDNN's status.
int pv_onednn_sgemm(int threads, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                    float beta, float *c, int64_t ldc);

/// Row-major C ← op(A) · op(B) + beta · C with A and B in bf16 (raw bits), fp32 accumulation
/// and an fp32 C, on `threads` threads (oneDNN's matmul primitive, cached per shape).
/// Returns 0, or oneDNN's status (`dnnl_unimplemented` where no kernel exists).
int pv_onednn_gemm_bf16(int threads, int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k,
                        const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb,
                        float beta, float *c, int64_t ldc);

/// The implementation oneDNN chooses for a bf16 product of this shape ("brg:avx512_core_amx", …),
/// or NULL when it has none. The string lives as long as the process.
const char *pv_onednn_bf16_implementation(int64_t m, int64_t n, int64_t k);

/// dst[i·dst_ld + j] = bf16(scale · src[i·src_ld + j]) for rows in [row_begin, row_end), j < columns;
/// round to nearest even, NaN stays NaN.
void pv_convert_rows_to_bf16(const float *src, int64_t src_ld, uint16_t *dst, int64_t dst_ld,
                             int64_t row_begin, int64_t row_end, int64_t columns, float scale);

/// A per-thread buffer of at least `bytes` bytes (64-byte aligned) for `slot` (0 ..< 6; slot 6 is
/// oneDNN's scratchpad), valid
/// until the next call for the same slot on the same thread; grown, never shrunk or freed, so a
/// steady state allocates nothing. NULL when memory runs out or the slot is out of range.
void *pv_thread_scratch(int slot, int64_t bytes);

#ifdef __cplusplus
}
#endif

#endif
