// Gated activations of the feed-forward block (AVX2 + FMA), for the AVX2 and AVX-512 paths.
// Their portable twins are `swiglu` and `geglu` in HearthEngine/Layers/Activations.swift.
#if defined(__x86_64__)
#include "HearthSIMD.h"
#include <immintrin.h>
#include <math.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "vector_math.h"

void hearth_swiglu(float *gate, const float *up, long n) {
    long i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = hs_exp(_mm256_sub_ps(_mm256_setzero_ps(), g));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i];
}

void hearth_geglu(float *gate, const float *up, long n) {
    const float c = 0.7978845608028654f;  // sqrt(2 / pi)
    long i = 0;
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 inner = _mm256_mul_ps(_mm256_set1_ps(c), _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), x), _mm256_mul_ps(x, x), x));
        // tanh(y) = 1 - 2 / (e^(2y) + 1), exact at both infinities.
        const __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(hs_exp(_mm256_mul_ps(two, inner)), one)));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, t)), _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) {
        const float x = gate[i];
        gate[i] = 0.5f * x * (1 + tanhf(c * (x + 0.044715f * x * x * x))) * up[i];
    }
}

#pragma clang attribute pop
#endif
