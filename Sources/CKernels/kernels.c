#include "parseval_kernels.h"

#include <stdint.h>
#include <string.h>

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

PV_CLONES
void pv_bias_gelu(float *a, const float *bias, ptrdiff_t rows, ptrdiff_t cols, float *y) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *restrict x = a + r * cols;
        float *restrict out = y + r * cols;
        for (ptrdiff_t c = 0; c < cols; c++) {
            const float v = x[c] + bias[c];
            float cdf, density;
            pv_normal(v, &cdf, &density);
            x[c] = v;
            out[c] = v * cdf;
        }
    }
}

PV_CLONES
void pv_gelu_backward(const float *a, const float *dy, ptrdiff_t rows, ptrdiff_t cols, float *dx, float *partial) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *restrict x = a + r * cols;
        const float *restrict g = dy + r * cols;
        float *restrict out = dx + r * cols;
        float *restrict sums = partial;
        for (ptrdiff_t c = 0; c < cols; c++) {
            const float v = x[c];
            float cdf, density;
            pv_normal(v, &cdf, &density);
            const float d = g[c] * (cdf + v * density);
            out[c] = d;
            sums[c] += d;
        }
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

const char *pv_kernels_isa(void) {
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
    return "baseline";
}
