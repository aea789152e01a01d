// Attention of one query vector over a run of cached keys and values (f16), for the AVX2 and
// AVX-512 paths alike (AVX2 + FMA + F16C). The portable twin is `attend` in HearthEngine/Layers.
#if defined(__x86_64__)
#include "HearthSIMD.h"
#include <immintrin.h>
#include <math.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

#include "vector_math.h"

/// 8 f16 values as floats.
static inline __m256 load_h8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

void hearth_attend_one(const float *q, const uint16_t *keys, const uint16_t *values, size_t kv_stride,
                       long count, long head_dim, float scale, float *scores, float *out) {
    // Scores, 4 keys at a time for independent accumulators.
    float max_score = -INFINITY;
    long p = 0;
    for (; p + 4 <= count; p += 4) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const uint16_t *k0 = keys + p * kv_stride;
        for (long d = 0; d < head_dim; d += 8) {
            __m256 qv = _mm256_loadu_ps(q + d);
            a0 = _mm256_fmadd_ps(qv, load_h8(k0 + d), a0);
            a1 = _mm256_fmadd_ps(qv, load_h8(k0 + kv_stride + d), a1);
            a2 = _mm256_fmadd_ps(qv, load_h8(k0 + 2 * kv_stride + d), a2);
            a3 = _mm256_fmadd_ps(qv, load_h8(k0 + 3 * kv_stride + d), a3);
        }
        // Four horizontal sums at once.
        __m256 s01 = _mm256_hadd_ps(a0, a1), s23 = _mm256_hadd_ps(a2, a3);
        __m256 s = _mm256_hadd_ps(s01, s23);
        __m128 four = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        four = _mm_mul_ps(four, _mm_set1_ps(scale));
        _mm_storeu_ps(scores + p, four);
        for (int i = 0; i < 4; i++) if (scores[p + i] > max_score) max_score = scores[p + i];
    }
    for (; p < count; p++) {
        __m256 a = _mm256_setzero_ps();
        for (long d = 0; d < head_dim; d += 8)
            a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load_h8(keys + p * kv_stride + d), a);
        scores[p] = hs_hsum8(a) * scale;
        if (scores[p] > max_score) max_score = scores[p];
    }
    // Softmax weights.
    __m256 vmax = _mm256_set1_ps(max_score), vsum = _mm256_setzero_ps();
    p = 0;
    for (; p + 8 <= count; p += 8) {
        __m256 e = hs_exp(_mm256_sub_ps(_mm256_loadu_ps(scores + p), vmax));
        _mm256_storeu_ps(scores + p, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hs_hsum8(vsum);
    for (; p < count; p++) {
        float e = expf(scores[p] - max_score);
        scores[p] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    // Weighted sum of the values, 64 dimensions at a time in 8 register accumulators (the
    // full-width case has its own loop so that the compiler keeps them in registers).
    const __m256 vinv = _mm256_set1_ps(inv);
    long d0 = 0;
    for (; d0 + 64 <= head_dim; d0 += 64) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (long i = 0; i < count; i++) {
            const __m256 wv = _mm256_set1_ps(scores[i]);
            const uint16_t *v = values + i * kv_stride + d0;
            a0 = _mm256_fmadd_ps(wv, load_h8(v), a0);
            a1 = _mm256_fmadd_ps(wv, load_h8(v + 8), a1);
            a2 = _mm256_fmadd_ps(wv, load_h8(v + 16), a2);
            a3 = _mm256_fmadd_ps(wv, load_h8(v + 24), a3);
            a4 = _mm256_fmadd_ps(wv, load_h8(v + 32), a4);
            a5 = _mm256_fmadd_ps(wv, load_h8(v + 40), a5);
            a6 = _mm256_fmadd_ps(wv, load_h8(v + 48), a6);
            a7 = _mm256_fmadd_ps(wv, load_h8(v + 56), a7);
        }
        float *o = out + d0;
        _mm256_storeu_ps(o, _mm256_mul_ps(a0, vinv));
        _mm256_storeu_ps(o + 8, _mm256_mul_ps(a1, vinv));
        _mm256_storeu_ps(o + 16, _mm256_mul_ps(a2, vinv));
        _mm256_storeu_ps(o + 24, _mm256_mul_ps(a3, vinv));
        _mm256_storeu_ps(o + 32, _mm256_mul_ps(a4, vinv));
        _mm256_storeu_ps(o + 40, _mm256_mul_ps(a5, vinv));
        _mm256_storeu_ps(o + 48, _mm256_mul_ps(a6, vinv));
        _mm256_storeu_ps(o + 56, _mm256_mul_ps(a7, vinv));
    }
    for (; d0 < head_dim; d0 += 8) {
        __m256 a = _mm256_setzero_ps();
        for (long i = 0; i < count; i++)
            a = _mm256_fmadd_ps(_mm256_set1_ps(scores[i]), load_h8(values + i * kv_stride + d0), a);
        _mm256_storeu_ps(out + d0, _mm256_mul_ps(a, vinv));
    }
}

#pragma clang attribute pop
#endif
