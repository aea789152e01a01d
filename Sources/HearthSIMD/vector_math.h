// Float helpers shared by the AVX2 + FMA kernels (attention, activations). Include inside a
// region compiled with target("avx2,fma").
#include <immintrin.h>

static inline __attribute__((always_inline)) float hs_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// e^x to about 2 ulp: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, Cody-Waite),
/// e^r by its degree-6 Taylor polynomial, 2^n through the exponent bits. Inputs are clamped to
/// [-87, 88.7]: below, the result is 0; above, +Inf.
static inline __attribute__((always_inline)) __m256 hs_exp(__m256 x) {
    const __m256 lower = _mm256_set1_ps(-87.0f);
    const __m256 small = _mm256_cmp_ps(x, lower, _CMP_LT_OQ);
    const __m256 big = _mm256_cmp_ps(x, _mm256_set1_ps(88.7f), _CMP_GT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lower), _mm256_set1_ps(88.7f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    // 2^n for n in [-125, 128]: split in two factors so that n = 128 does not overflow early.
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    __m256 e = _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
    e = _mm256_andnot_ps(small, e);
    return _mm256_blendv_ps(e, _mm256_set1_ps(__builtin_inff()), big);
}
