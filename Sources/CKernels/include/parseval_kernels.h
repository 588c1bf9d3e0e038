// Elementwise kernels compiled once per instruction set and chosen at load time
// (target_clones: AVX-512, AVX2 + FMA, baseline), for the passes that are bound by arithmetic:
// GELU and its backward, exp in the attention softmax, the AdamW update. Swift cannot compile
// one function for several instruction sets, so these few loops live in C.
//
// Every clone performs the same IEEE operations in the same order (FP contraction off, no
// fast-math), so the results are bit-identical across machines, and to the Swift reference
// implementations in TensorCore's Kernels (`Kernels.gelu`, `Kernels.exp`), which the tests use
// as their naive twins.
#ifndef PARSEVAL_KERNELS_H
#define PARSEVAL_KERNELS_H

#include <stddef.h>

/// For r < rows, c < cols: a[r, c] += bias[c]; y[r, c] = GELU(a[r, c]) (exact erf form).
void pv_bias_gelu(float *a, const float *bias, ptrdiff_t rows, ptrdiff_t cols, float *y);

/// dx = dy · GELU'(a), and partial[c] += Σ_r dx[r, c].
void pv_gelu_backward(const float *a, const float *dy, ptrdiff_t rows, ptrdiff_t cols, float *dx, float *partial);

/// row[j] = scale[j] · exp(row[j] − shift) for j < count; scale NULL means 1.
void pv_exp_shifted(float *row, ptrdiff_t count, float shift, const float *scale);

/// AdamW (PyTorch's order) over count elements:
/// m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p = p·decay − lr · (m/c1) / (√(v/c2) + ε).
void pv_adamw(float *p, const float *g, float *m, float *v, ptrdiff_t count, float beta1, float beta2,
              float correction1, float correction2, float epsilon, float learning_rate, float decay);

/// The instruction set the dispatcher chose: "avx512f", "avx2", or "baseline".
const char *pv_kernels_isa(void);

#endif
