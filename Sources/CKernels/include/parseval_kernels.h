// Elementwise kernels compiled once per instruction set and chosen at load time
// (target_clones: AVX-512, AVX2 + FMA, baseline), for the step's hottest loops outside gemm and
// FFTW: GELU and its backward, exp in the attention softmax, the AdamW update, FFTNet's
// spectral filter with modReLU and its backward, LayerNorm's backward. Swift cannot compile one
// function for several instruction sets, so these few loops live in C.
//
// Every clone performs the same IEEE operations in the same order (FP contraction off, no
// fast-math), so the results are bit-identical across machines. GELU and exp are also the
// same bits as the Swift reference implementations in TensorCore's Kernels (`Kernels.gelu`,
// `Kernels.exp`), which the tests compare them with; the filter and LayerNorm are checked
// against explicit matrices and finite differences.
#ifndef PARSEVAL_KERNELS_H
#define PARSEVAL_KERNELS_H

#include <stddef.h>

/// For r < rows, c < cols: a[r, c] += bias[c]; y[r, c] = GELU(a[r, c]): the exact erf form, or
/// with tanh_form ≠ 0 the tanh approximation (JAX's default, PyTorch's approximate='tanh').
void pv_bias_gelu(float *a, const float *bias, ptrdiff_t rows, ptrdiff_t cols, float *y, int tanh_form);

/// dx = dy · GELU'(a), and partial[c] += Σ_r dx[r, c] (tanh_form as in pv_bias_gelu); with
/// `value` not NULL also value = GELU(a), the same bits pv_bias_gelu wrote for this a (a caller
/// that did not keep the activation recomputes it in the same pass).
void pv_gelu_backward(const float *a, const float *dy, ptrdiff_t rows, ptrdiff_t cols, float *dx, float *partial,
                      float *value, int tanh_form);

/// row[j] = scale[j] · exp(row[j] − shift) for j < count; scale NULL means 1.
void pv_exp_shifted(float *row, ptrdiff_t count, float shift, const float *scale);

/// AdamW (PyTorch's order) over count elements:
/// m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p = p·decay − lr · (m/c1) / (√(v/c2) + ε).
void pv_adamw(float *p, const float *g, float *m, float *v, ptrdiff_t count, float beta1, float beta2,
              float correction1, float correction2, float epsilon, float learning_rate, float decay);

/// FFTNet's filter and modReLU on one channel's unnormalised spectrum ẑ (bins complex values,
/// interleaved): z' = ẑ · w[k] / √N, u = z' · max(|z'| + β[k], 0) / (|z'| + ε) / √N.
void pv_spectral_filter(const float *z, const float *w, const float *beta, ptrdiff_t bins, float ortho,
                        float epsilon, float *u);

/// Its backward over bins k0 ..< k1 of one channel (N the sequence length): g holds the
/// unnormalised rfft of the upstream gradient and is overwritten with ∂L/∂Ẑ (interior bins
/// halved, times 1/√N, ready for an unnormalised irfft); adds into gw[k] (the filter's
/// gradient) and dbeta[k] (the modReLU bias's).
void pv_spectral_filter_backward(const float *z, const float *w, const float *beta, float *g, float *gw,
                                 float *dbeta, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t n, float ortho, float epsilon);

/// LayerNorm's forward over rows of width d, of s = x (+ residual when not NULL, s then also
/// written to sum): x̂ = (s − μ) · rstd, rstd = 1/√(σ² + ε), y = x̂ ⊙ γ + β.
void pv_layernorm_forward(const float *x, const float *residual, const float *gamma, const float *beta,
                          ptrdiff_t rows, ptrdiff_t d, float epsilon, float *sum, float *xhat, float *rstd, float *y);

/// LayerNorm's backward over rows of width d: with x̂ the normalised input and rstd its
/// 1/σ, dx = rstd · (g⊙γ − mean(g⊙γ) − x̂ · mean(g⊙γ⊙x̂)) (+ residual when not NULL);
/// partial[j] += Σ g⊙x̂ (γ's gradient), partial[d + j] += Σ g (β's).
void pv_layernorm_backward(const float *g, const float *xhat, const float *gamma, const float *rstd,
                           const float *residual, ptrdiff_t rows, ptrdiff_t d, float *dx, float *partial);

/// Channel-major elementwise work of kernelized attention's Toeplitz products, over positions
/// i < n of `count` rows (row c at `rows + c · row_stride`):
/// out[c · out_stride + i] = scale[i] · rows[c · row_stride + i], or += with `accumulate` ≠ 0
/// (pv_scaled_rows); acc[i] += Σ_c a[c · a_stride + i] · b[c · b_stride + i], c in order
/// (pv_row_dots_add)
void pv_scaled_rows(const float *scale, const float *rows, ptrdiff_t row_stride, ptrdiff_t count, ptrdiff_t n,
                    float *out, ptrdiff_t out_stride, int accumulate);
void pv_row_dots_add(const float *a, ptrdiff_t a_stride, const float *b, ptrdiff_t b_stride, ptrdiff_t count,
                     ptrdiff_t n, float *acc);

/// Interleaved complex spectra of `bins` bins (re, im) for the Toeplitz FFT products:
/// z[k] ← z[k] · (r_re[k] + i·sign·r_im[k])                      (pv_complex_multiply)
/// out[k] += conj(g[k]) · x[k]                                     (pv_conjugate_product_add)
void pv_complex_multiply(float *z, const float *r, ptrdiff_t bins, float sign);
void pv_conjugate_product_add(const float *g, const float *x, ptrdiff_t bins, float *out);

/// dst[c · dst_stride + r] = src[r · src_stride + c] for r < rows, c < cols: one tile of a
/// matrix transpose, in 8 × 8 register blocks where AVX is available.
void pv_transpose_tile(const float *src, ptrdiff_t src_stride, float *dst, ptrdiff_t dst_stride,
                       ptrdiff_t rows, ptrdiff_t cols);

/// The instruction set the dispatcher chose: "avx512f", "avx2", or "baseline".
const char *pv_kernels_isa(void);

#endif
