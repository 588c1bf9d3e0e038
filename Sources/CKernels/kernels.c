#include "parseval_kernels.h"

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Same operations, same order, in every clone and in the Swift reference: no contraction.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && defined(__clang__)
#define PV_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define PV_CLONES
#endif

static inline uint32_t pv_bits(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
static inline float pv_float(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }

// Swift's max(x, y) is `y >= x ? y : x` and min(x, y) is `y < x ? y : x`: NaN propagates.
static inline float pv_max(float x, float y) { return y >= x ? y : x; }
static inline float pv_min(float x, float y) { return y < x ? y : x; }

// Kernels.exp: n = round(x / ln 2) through the 1.5·2²³ shift, r = x − n·ln 2 in two parts,
// e^r by its degree-6 Taylor polynomial, 2^n in the exponent bits.
static inline float pv_exp(float x) {
    const float clamped = pv_min(pv_max(x, -87.0f), 88.0f);
    const float shifted = clamped * 1.44269504f + 12582912.0f;
    const float n = shifted - 12582912.0f;
    const float r = clamped - n * 0.69314575f - n * 1.4286068e-6f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * pv_float((pv_bits(shifted) - 0x4B400000u + 127u) << 23);
}

// Kernels.normalCDFAndDensity: Φ via erf(x/√2) by Abramowitz & Stegun 7.1.26 and φ, sharing
// the one exponential e^{−x²/2}.
static inline void pv_normal(float x, float *cdf, float *density) {
    const float gaussian = pv_exp(-0.5f * x * x);
    const float z = pv_float(pv_bits(x) & 0x7FFFFFFFu) * 0.70710678f;
    const float t = 1.0f / (1.0f + 0.3275911f * z);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    const float magnitude = 1.0f - poly * t * gaussian;
    const float erf = pv_float(pv_bits(magnitude) | (pv_bits(x) & 0x80000000u));
    *cdf = 0.5f * (1.0f + erf);
    *density = 0.39894228f * gaussian;
}

// GELU's tanh form (Hendrycks & Gimpel; JAX's and Flax's default `gelu`, PyTorch's
// `approximate='tanh'`): GELU(x) = x·s with s = ½(1 + tanh u) = σ(2u), u = √(2/π)(x + 0.044715x³),
// and GELU'(x) = s + x·σ(2u)(1 − σ(2u))·2u'. Returned in pv_normal's shape, as (s, the density
// term), so both forms share the loops below.
static inline void pv_normal_tanh(float x, float *cdf, float *density) {
    const float k = 0.7978845608f;  // √(2/π)
    const float u = k * (x + 0.044715f * x * x * x);
    const float s = 1.0f / (1.0f + pv_exp(-2.0f * u));
    *cdf = s;
    *density = s * (1.0f - s) * 2.0f * k * (1.0f + 3.0f * 0.044715f * x * x);
}

#define PV_BIAS_GELU_LOOP(NORMAL)                                  \
    for (ptrdiff_t r = 0; r < rows; r++) {                         \
        float *restrict x = a + r * cols;                          \
        float *restrict out = y + r * cols;                        \
        for (ptrdiff_t c = 0; c < cols; c++) {                     \
            const float v = x[c] + bias[c];                        \
            float cdf, density;                                    \
            NORMAL(v, &cdf, &density);                             \
            x[c] = v;                                              \
            out[c] = v * cdf;                                      \
        }                                                          \
    }

PV_CLONES
void pv_bias_gelu(float *a, const float *bias, ptrdiff_t rows, ptrdiff_t cols, float *y, int tanh_form) {
    if (tanh_form) {
        PV_BIAS_GELU_LOOP(pv_normal_tanh)
    } else {
        PV_BIAS_GELU_LOOP(pv_normal)
    }
}

#define PV_GELU_BACKWARD_LOOP(NORMAL, KEEPS_VALUE)                 \
    for (ptrdiff_t r = 0; r < rows; r++) {                         \
        const float *restrict x = a + r * cols;                    \
        const float *restrict g = dy + r * cols;                   \
        float *restrict out = dx + r * cols;                       \
        float *restrict sums = partial;                            \
        float *restrict values = KEEPS_VALUE ? value + r * cols : NULL; \
        for (ptrdiff_t c = 0; c < cols; c++) {                     \
            const float v = x[c];                                  \
            float cdf, density;                                    \
            NORMAL(v, &cdf, &density);                             \
            const float d = g[c] * (cdf + v * density);            \
            out[c] = d;                                            \
            sums[c] += d;                                          \
            if (KEEPS_VALUE) values[c] = v * cdf;                  \
        }                                                          \
    }

PV_CLONES
void pv_gelu_backward(const float *a, const float *dy, ptrdiff_t rows, ptrdiff_t cols, float *dx, float *partial,
                      float *value, int tanh_form) {
    if (tanh_form) {
        if (value) { PV_GELU_BACKWARD_LOOP(pv_normal_tanh, 1) } else { PV_GELU_BACKWARD_LOOP(pv_normal_tanh, 0) }
    } else {
        if (value) { PV_GELU_BACKWARD_LOOP(pv_normal, 1) } else { PV_GELU_BACKWARD_LOOP(pv_normal, 0) }
    }
}

PV_CLONES
void pv_exp_shifted(float *row, ptrdiff_t count, float shift, const float *scale) {
    float *restrict values = row;
    if (scale) {
        const float *restrict factors = scale;
        for (ptrdiff_t j = 0; j < count; j++) values[j] = factors[j] * pv_exp(values[j] - shift);
    } else {
        for (ptrdiff_t j = 0; j < count; j++) values[j] = pv_exp(values[j] - shift);
    }
}

PV_CLONES
void pv_adamw(float *p, const float *g, float *m, float *v, ptrdiff_t count, float beta1, float beta2,
              float correction1, float correction2, float epsilon, float learning_rate, float decay) {
    float *restrict params = p, *restrict first = m, *restrict second = v;
    const float *restrict grads = g;
    for (ptrdiff_t j = 0; j < count; j++) {
        const float grad = grads[j];
        first[j] = beta1 * first[j] + (1.0f - beta1) * grad;
        second[j] = beta2 * second[j] + (1.0f - beta2) * grad * grad;
        const float update = (first[j] / correction1) / (__builtin_elementwise_sqrt(second[j] / correction2) + epsilon);
        params[j] = params[j] * decay - learning_rate * update;
    }
}

PV_CLONES
void pv_spectral_filter(const float *z, const float *w, const float *beta, ptrdiff_t bins, float ortho,
                        float epsilon, float *u) {
    const float *restrict zs = z;
    float *restrict us = u;
    for (ptrdiff_t k = 0; k < bins; k++) {
        const float wk = w[k] * ortho;
        const float re = zs[2 * k] * wk, im = zs[2 * k + 1] * wk;
        const float magnitude = __builtin_elementwise_sqrt(re * re + im * im);
        const float scale = pv_max(magnitude + beta[k], 0.0f) / (magnitude + epsilon) * ortho;
        us[2 * k] = re * scale;
        us[2 * k + 1] = im * scale;
    }
}

PV_CLONES
void pv_spectral_filter_backward(const float *z, const float *w, const float *beta, float *g, float *gw,
                                 float *dbeta, ptrdiff_t k0, ptrdiff_t k1, ptrdiff_t n, float ortho, float epsilon) {
    const float *restrict zs = z;
    float *restrict gs = g, *restrict gws = gw, *restrict dbs = dbeta;
    for (ptrdiff_t k = k0; k < k1; k++) {
        const float doubling = (k == 0 || 2 * k == n) ? 1.0f : 2.0f;
        const float zre = zs[2 * k] * ortho, zim = zs[2 * k + 1] * ortho;
        const float re = zre * w[k], im = zim * w[k];
        const float r = __builtin_elementwise_sqrt(re * re + im * im);
        // Where r + β ≤ 0 modReLU is flat: no gradient flows (the selects below).
        const int active = r + beta[k] > 0.0f;
        const float gr = gs[2 * k] * doubling * ortho, gi = gs[2 * k + 1] * doubling * ortho;
        const float dot = gr * re + gi * im;
        const float s = (r + beta[k]) / (r + epsilon);
        const float radial = r > 0.0f ? dot * (epsilon - beta[k]) / ((r + epsilon) * (r + epsilon) * r) : 0.0f;
        const float dr = active ? s * gr + radial * re : 0.0f;
        const float di = active ? s * gi + radial * im : 0.0f;
        dbs[k] += active ? dot / (r + epsilon) : 0.0f;
        gws[k] += dr * zre + di * zim;
        gs[2 * k] = dr * w[k] / doubling * ortho;
        gs[2 * k + 1] = di * w[k] / doubling * ortho;
    }
}

// Kernels.rowSum / rowDot: eight partial sums in a fixed order, then a fixed tree.
static inline float pv_row_sum(const float *p, ptrdiff_t count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    ptrdiff_t j = 0;
    for (; j + 8 <= count; j += 8) {
        s0 += p[j]; s1 += p[j + 1]; s2 += p[j + 2]; s3 += p[j + 3];
        s4 += p[j + 4]; s5 += p[j + 5]; s6 += p[j + 6]; s7 += p[j + 7];
    }
    float total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    for (; j < count; j++) total += p[j];
    return total;
}

static inline float pv_row_dot(const float *a, const float *b, ptrdiff_t count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    ptrdiff_t j = 0;
    for (; j + 8 <= count; j += 8) {
        s0 += a[j] * b[j]; s1 += a[j + 1] * b[j + 1]; s2 += a[j + 2] * b[j + 2]; s3 += a[j + 3] * b[j + 3];
        s4 += a[j + 4] * b[j + 4]; s5 += a[j + 5] * b[j + 5]; s6 += a[j + 6] * b[j + 6]; s7 += a[j + 7] * b[j + 7];
    }
    float total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    for (; j < count; j++) total += a[j] * b[j];
    return total;
}

PV_CLONES
void pv_layernorm_forward(const float *x, const float *residual, const float *gamma, const float *beta,
                          ptrdiff_t rows, ptrdiff_t d, float epsilon, float *sum, float *xhat, float *rstd, float *y) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *row = x + r * d;
        if (residual) {
            const float *restrict a = x + r * d, *restrict b = residual + r * d;
            float *restrict s = sum + r * d;
            for (ptrdiff_t j = 0; j < d; j++) s[j] = a[j] + b[j];
            row = s;
        }
        float *restrict h = xhat + r * d, *restrict out = y + r * d;
        const float mean = pv_row_sum(row, d) / (float)d;
        for (ptrdiff_t j = 0; j < d; j++) h[j] = row[j] - mean;
        const float inverse = 1.0f / __builtin_elementwise_sqrt(pv_row_dot(h, h, d) / (float)d + epsilon);
        rstd[r] = inverse;
        for (ptrdiff_t j = 0; j < d; j++) {
            h[j] *= inverse;
            out[j] = h[j] * gamma[j] + beta[j];
        }
    }
}

PV_CLONES
void pv_layernorm_backward(const float *g, const float *xhat, const float *gamma, const float *rstd,
                           const float *residual, ptrdiff_t rows, ptrdiff_t d, float *dx, float *partial) {
    float *restrict dgamma = partial, *restrict dbeta = partial + d;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *restrict gr = g + r * d, *restrict h = xhat + r * d;
        float *restrict row = dx + r * d;
        for (ptrdiff_t j = 0; j < d; j++) {
            dgamma[j] += gr[j] * h[j];
            dbeta[j] += gr[j];
            row[j] = gr[j] * gamma[j];
        }
        const float mean_g = pv_row_sum(row, d) / (float)d;
        const float mean_gh = pv_row_dot(row, h, d) / (float)d;
        const float inverse = rstd[r];
        if (residual) {
            const float *restrict e = residual + r * d;
            for (ptrdiff_t j = 0; j < d; j++) row[j] = (row[j] - mean_g - h[j] * mean_gh) * inverse + e[j];
        } else {
            for (ptrdiff_t j = 0; j < d; j++) row[j] = (row[j] - mean_g - h[j] * mean_gh) * inverse;
        }
    }
}

static void pv_transpose_scalar(const float *src, ptrdiff_t src_stride, float *dst, ptrdiff_t dst_stride,
                                ptrdiff_t rows, ptrdiff_t cols) {
    for (ptrdiff_t c = 0; c < cols; c++)
        for (ptrdiff_t r = 0; r < rows; r++) dst[c * dst_stride + r] = src[r * src_stride + c];
}

#if defined(__x86_64__) && defined(__clang__)
// The classic 8 × 8 transpose in AVX registers: unpack pairs, shuffle quads, swap 128-bit halves.
__attribute__((target("avx")))
static void pv_transpose_avx(const float *src, ptrdiff_t src_stride, float *dst, ptrdiff_t dst_stride,
                             ptrdiff_t rows, ptrdiff_t cols) {
    const ptrdiff_t rows8 = rows & ~(ptrdiff_t)7, cols8 = cols & ~(ptrdiff_t)7;
    for (ptrdiff_t r = 0; r < rows8; r += 8) {
        for (ptrdiff_t c = 0; c < cols8; c += 8) {
            const float *s = src + r * src_stride + c;
            __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + src_stride);
            __m256 a2 = _mm256_loadu_ps(s + 2 * src_stride), a3 = _mm256_loadu_ps(s + 3 * src_stride);
            __m256 a4 = _mm256_loadu_ps(s + 4 * src_stride), a5 = _mm256_loadu_ps(s + 5 * src_stride);
            __m256 a6 = _mm256_loadu_ps(s + 6 * src_stride), a7 = _mm256_loadu_ps(s + 7 * src_stride);
            __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
            __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
            __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5);
            __m256 t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *d = dst + c * dst_stride + r;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + dst_stride, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * dst_stride, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * dst_stride, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * dst_stride, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * dst_stride, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * dst_stride, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * dst_stride, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
    // Edges: the columns right of the 8-wide blocks, then the rows below them.
    if (cols8 < cols) pv_transpose_scalar(src + cols8, src_stride, dst + cols8 * dst_stride, dst_stride, rows8, cols - cols8);
    if (rows8 < rows) pv_transpose_scalar(src + rows8 * src_stride, src_stride, dst + rows8, dst_stride, rows - rows8, cols);
}
#endif

void pv_transpose_tile(const float *src, ptrdiff_t src_stride, float *dst, ptrdiff_t dst_stride,
                       ptrdiff_t rows, ptrdiff_t cols) {
#if defined(__x86_64__) && defined(__clang__)
    static int has_avx = -1;
    if (has_avx < 0) {
        __builtin_cpu_init();
        has_avx = __builtin_cpu_supports("avx");
    }
    if (has_avx) {
        pv_transpose_avx(src, src_stride, dst, dst_stride, rows, cols);
        return;
    }
#endif
    pv_transpose_scalar(src, src_stride, dst, dst_stride, rows, cols);
}

PV_CLONES
void pv_complex_multiply(float *z, const float *r, ptrdiff_t bins, float sign) {
    for (ptrdiff_t k = 0; k < bins; k++) {
        const float cr = r[2 * k], ci = sign * r[2 * k + 1], a = z[2 * k], b = z[2 * k + 1];
        z[2 * k] = a * cr - b * ci;
        z[2 * k + 1] = a * ci + b * cr;
    }
}

PV_CLONES
void pv_conjugate_product_add(const float *g, const float *x, ptrdiff_t bins, float *out) {
    for (ptrdiff_t k = 0; k < bins; k++) {
        const float gr = g[2 * k], gi = g[2 * k + 1], xr = x[2 * k], xi = x[2 * k + 1];
        out[2 * k] += gr * xr + gi * xi;
        out[2 * k + 1] += gr * xi - gi * xr;
    }
}

PV_CLONES
void pv_scaled_rows(const float *scale, const float *rows, ptrdiff_t row_stride, ptrdiff_t count, ptrdiff_t n,
                    float *out, ptrdiff_t out_stride, int accumulate) {
    for (ptrdiff_t c = 0; c < count; c++) {
        const float *restrict x = rows + c * row_stride;
        float *restrict y = out + c * out_stride;
        if (accumulate) {
            for (ptrdiff_t i = 0; i < n; i++) y[i] += scale[i] * x[i];
        } else {
            for (ptrdiff_t i = 0; i < n; i++) y[i] = scale[i] * x[i];
        }
    }
}

PV_CLONES
void pv_row_dots_add(const float *a, ptrdiff_t a_stride, const float *b, ptrdiff_t b_stride, ptrdiff_t count,
                     ptrdiff_t n, float *acc) {
    // Blocks of 256 positions keep their partial sums in L1 while the rows stream past.
    float sums[256];
    for (ptrdiff_t i0 = 0; i0 < n; i0 += 256) {
        const ptrdiff_t width = n - i0 < 256 ? n - i0 : 256;
        for (ptrdiff_t i = 0; i < width; i++) sums[i] = 0.0f;
        for (ptrdiff_t c = 0; c < count; c++) {
            const float *restrict x = a + c * a_stride + i0, *restrict y = b + c * b_stride + i0;
            for (ptrdiff_t i = 0; i < width; i++) sums[i] += x[i] * y[i];
        }
        for (ptrdiff_t i = 0; i < width; i++) acc[i0 + i] += sums[i];
    }
}

const char *pv_kernels_isa(void) {
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    return "baseline";
}
