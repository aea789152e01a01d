// Activation quantizers (f32 -> q8_0, q8_1, q8_K) for the AVX2 and AVX-512 paths alike, giving
// the same bytes as the Swift reference quantizers in HearthKernels (LegacyQuants.swift,
// KQuants.swift): scale from the block's largest magnitude, round half to even, scales as f16
// (q8_0, q8_1) or f32 (q8_K). A block holding an Inf or NaN takes the scalar route, which
// mirrors the reference's handling of them exactly.
#if defined(__x86_64__)
#include "HearthSIMD.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline uint16_t to_f16(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline int all_finite(const float *x, long n) {
    const __m256 exp_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7f800000));
    for (long i = 0; i < n; i += 8) {
        __m256 e = _mm256_and_ps(_mm256_loadu_ps(x + i), exp_mask);
        if (_mm256_movemask_ps(_mm256_cmp_ps(e, exp_mask, _CMP_EQ_OQ))) return 0;
    }
    return 1;
}

/// The reference's scalar steps for one 32-element block (used when it is not all finite).
static int scalar_block32(const float *x, int8_t *qs, float *d_out) {
    float amax = 0;
    for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a >= amax) amax = a; }
    const float d = amax / 127, id = amax != 0 ? 127 / amax : 0;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        float v = rintf(x[j] * id);
        int q = isnan(v) ? 0 : (int)fmaxf(-127, fminf(127, v));
        qs[j] = (int8_t)q;
        sum += q;
    }
    *d_out = d;
    return sum;
}

/// One 32-element block: quants to `qs`, returns the sum of the quants, d through `d_out`.
static inline int block32(const float *x, int8_t *qs, float *d_out) {
    if (!all_finite(x, 32)) return scalar_block32(x, qs, d_out);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
    }
    const float amax = hmax8(m);
    const float d = amax / 127, id = amax != 0 ? 127 / amax : 0;
    // A subnormal amax overflows id to Inf, and 0 * Inf is NaN: the reference's route.
    if (isinf(id)) return scalar_block32(x, qs, d_out);
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; i++)
        q[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // Sum of the 32 quants.
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    // Narrow to bytes in order: packs work within 128-bit lanes, a final permute restores it.
    __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, p8);
    *d_out = d;
    return _mm_cvtsi128_si32(s4);
}

void hearth_quantize_q8_0(const float *x, void *dst, long n) {
    uint8_t *p = (uint8_t *)dst;
    for (long b = 0; b < n / 32; b++, p += 34) {
        float d;
        block32(x + 32 * b, (int8_t *)(p + 2), &d);
        uint16_t h = to_f16(d);
        memcpy(p, &h, 2);
    }
}

void hearth_quantize_q8_1(const float *x, void *dst, long n) {
    uint8_t *p = (uint8_t *)dst;
    for (long b = 0; b < n / 32; b++, p += 36) {
        float d;
        int sum = block32(x + 32 * b, (int8_t *)(p + 4), &d);
        uint16_t h = to_f16(d), s = to_f16(d * (float)sum);
        memcpy(p, &h, 2);
        memcpy(p + 2, &s, 2);
    }
}

/// q8_K: the element of largest magnitude (the first, on ties) maps to -127, its sign kept in
/// d = 1 / iscale; sums of each 16 quants beside them.
void hearth_quantize_q8_K(const float *x, void *dst, long n) {
    uint8_t *p = (uint8_t *)dst;
    for (long b = 0; b < n / 256; b++, p += 292) {
        const float *xb = x + 256 * b;
        float amax = 0, maxv = 0;
        for (int i = 0; i < 256; i++) { float a = fabsf(xb[i]); if (a > amax) { amax = a; maxv = xb[i]; } }
        if (amax == 0) { memset(p, 0, 292); continue; }
        const float iscale = -127 / maxv;
        if (!isfinite(iscale) || iscale == 0) { memset(p, 0, 292); continue; }
        int8_t *qs = (int8_t *)(p + 4);
        const int finite = all_finite(xb, 256);
        for (int g = 0; g < 16; g++) {
            int16_t sum = 0;
            if (finite) {
                const __m256 vs = _mm256_set1_ps(iscale);
                __m256i q0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + 16 * g), vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
                __m256i q1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + 16 * g + 8), vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
                const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
                q0 = _mm256_min_epi32(_mm256_max_epi32(q0, lo), hi);
                q1 = _mm256_min_epi32(_mm256_max_epi32(q1, lo), hi);
                int32_t tmp[16];
                _mm256_storeu_si256((__m256i *)tmp, q0);
                _mm256_storeu_si256((__m256i *)(tmp + 8), q1);
                for (int l = 0; l < 16; l++) { qs[16 * g + l] = (int8_t)tmp[l]; sum += (int16_t)tmp[l]; }
            } else {
                for (int l = 0; l < 16; l++) {
                    float r = rintf(iscale * xb[16 * g + l]);
                    int v = isnan(r) ? 0 : (int)fmaxf(-127, fminf(127, r));
                    qs[16 * g + l] = (int8_t)v;
                    sum += (int16_t)v;
                }
            }
            memcpy(p + 260 + 2 * g, &sum, 2);
        }
        const float d = 1 / iscale;
        memcpy(p, &d, 4);
    }
}

void hearth_quantize_f16(const float *x, void *dst, long n) {
    uint16_t *out = (uint16_t *)dst;
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = to_f16(x[i]);
}

#pragma clang attribute pop
#endif
