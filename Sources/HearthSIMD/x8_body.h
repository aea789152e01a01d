// The 8-row interleaved kernels (layouts in repack.c), included by x86_avx512vnni.c and
// x86_avx2.c. q8_0's layout stores weights + 128, whose products with int8 activations overflow
// AVX2's 16-bit pair sums, so only the VNNI path has that one.
// A tile is 8 weight rows x C activation columns (C <= 8). Per block and column, 8 VNNI
// instructions (one per step of 4 elements, the activations broadcast) leave the 8 rows' integer
// dot products in the 8 lanes of one vector, so the block's float scaling is one convert, one
// multiply and one fused multiply-add for all 8 rows, and results need no horizontal sums.

/// Per column and block of the activations: the scale as f32 and the integer sum of the 32
/// quants (q8_0), or the scale and ggml's s = d * sum (q8_1, `with_s`).
HS_INLINE void activation_terms(const uint8_t *x, size_t xs, long cols, long nb, int block_bytes,
                                float *da, int32_t *asum, float *s) {
    for (long c = 0; c < cols; c++) {
        for (long b = 0; b < nb; b++) {
            const uint8_t *q = x + c * xs + b * block_bytes;
            da[c * nb + b] = f16_to_f32(q);
            if (s) {
                s[c * nb + b] = f16_to_f32(q + 2);
            } else {
                __m256i v = load32(q + 2);
                __m256i sums = dot_u8i8(_mm256_setzero_si256(), _mm256_set1_epi8(1), v);
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
                asum[c * nb + b] = _mm_cvtsi128_si32(h);
            }
        }
    }
}

HS_INLINE int32_t load_i32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

/// FORMAT: 0 q4_0, 1 q4_1, 2 q5_0, 3 q8_0.
HS_INLINE void tile_x8(const int FORMAT, const int C, const uint8_t *w, const uint8_t *x, size_t xs,
                       int xqs, int xbytes, const float *da, const int32_t *asum, const float *s,
                       long nb, float *y, size_t ys) {
    const int gbytes = FORMAT == 0 ? 144 : FORMAT == 1 ? 160 : FORMAT == 2 ? 176 : 272;
    const int32_t offset = FORMAT == 0 ? 8 : FORMAT == 2 ? 16 : FORMAT == 3 ? 128 : 0;
    __m256 acc[8];
    HS_UNROLL for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++) {
        const uint8_t *p = w + b * gbytes;
        _mm_prefetch((const char *)p + HS_PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)p + HS_PREFETCH_AHEAD + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)p + HS_PREFETCH_AHEAD + 128, _MM_HINT_T0);
        if (FORMAT == 3) _mm_prefetch((const char *)p + HS_PREFETCH_AHEAD + 192, _MM_HINT_T0);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        __m256i steps[8];
        if (FORMAT == 3) {
            HS_UNROLL for (int t = 0; t < 8; t++) steps[t] = load32(p + 16 + 32 * t);
        } else {
            const uint8_t *nib = p + (FORMAT == 0 ? 16 : 32) + (FORMAT == 2 ? 16 : 0);
            HS_UNROLL for (int g = 0; g < 4; g++) {
                __m256i v = load32(nib + 32 * g);
                steps[g] = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
                steps[g + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
            }
            if (FORMAT == 2) {
                HS_UNROLL for (int t = 0; t < 8; t++) {
                    __m256i high = _mm256_and_si256(bytes_from_bits((uint32_t)load_i32(p + 16 + 4 * t)), _mm256_set1_epi8(0x10));
                    steps[t] = _mm256_or_si256(steps[t], high);
                }
            }
        }
        __m256 mins = _mm256_setzero_ps();
        if (FORMAT == 1) mins = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16)));
        HS_UNROLL for (int c = 0; c < C; c++) {
            const uint8_t *a = x + c * xs + b * xbytes + xqs;
            __m256i dot = FORMAT == 1 ? _mm256_setzero_si256() : _mm256_set1_epi32(-offset * asum[c * nb + b]);
            HS_UNROLL for (int t = 0; t < 8; t++) dot = dot_u8i8(dot, steps[t], _mm256_set1_epi32(load_i32(a + 4 * t)));
            __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(da[c * nb + b]));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[c]);
            if (FORMAT == 1) acc[c] = _mm256_fmadd_ps(mins, _mm256_set1_ps(s[c * nb + b]), acc[c]);
        }
    }
    HS_UNROLL for (int c = 0; c < C; c++) _mm256_storeu_ps(y + c * ys, acc[c]);
}

#define HS_X8_CHUNK 32
#define HS_X8_CASE(F, C) case C: tile_x8(F, C, wp, xp, xs, xqs, xbytes, da + cc * nb, asum + cc * nb, s ? s + cc * nb : 0, nb, yp, ys); break;

/// w: the repacked groups, `ws` bytes per group of 8 rows; rows a multiple of 8.
#define HS_DEFINE_X8(NAME, F)                                                                      \
static void NAME(const void *w, size_t ws, const void *x, size_t xs, float *y, size_t ys,          \
                 long rows, long cols, long k) {                                                   \
    const long nb = k / 32;                                                                        \
    const int xbytes = (F) == 1 ? 36 : 34, xqs = (F) == 1 ? 4 : 2;                                 \
    float da[HS_X8_CHUNK * nb], sv[(F) == 1 ? HS_X8_CHUNK * nb : 1];                              \
    int32_t asum[(F) == 1 ? 1 : HS_X8_CHUNK * nb];                                                 \
    float *s = (F) == 1 ? sv : 0;                                                                  \
    for (long c0 = 0; c0 < cols; c0 += HS_X8_CHUNK) {                                              \
        const long n = cols - c0 < HS_X8_CHUNK ? cols - c0 : HS_X8_CHUNK;                          \
        const uint8_t *xc = (const uint8_t *)x + c0 * xs;                                          \
        activation_terms(xc, xs, n, nb, xbytes, da, asum, s);                                      \
        for (long g = 0; g < rows / 8; g++) {                                                      \
            const uint8_t *wp = (const uint8_t *)w + g * ws;                                       \
            for (long cc = 0; cc < n; cc += 8) {                                                   \
                const int C = n - cc < 8 ? (int)(n - cc) : 8;                                      \
                const uint8_t *xp = xc + cc * xs;                                                  \
                float *yp = y + (c0 + cc) * ys + 8 * g;                                            \
                switch (C) {                                                                       \
                    HS_X8_CASE(F, 1) HS_X8_CASE(F, 2) HS_X8_CASE(F, 3) HS_X8_CASE(F, 4)            \
                    HS_X8_CASE(F, 5) HS_X8_CASE(F, 6) HS_X8_CASE(F, 7) HS_X8_CASE(F, 8)            \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
}

HS_DEFINE_X8(matmul_x8_q4_0, 0)
HS_DEFINE_X8(matmul_x8_q4_1, 1)
HS_DEFINE_X8(matmul_x8_q5_0, 2)
#if HS_VNNI
HS_DEFINE_X8(matmul_x8_q8_0, 3)
#endif

// MARK: K formats (super-blocks of 256 against q8_K)

/// FORMAT: 0 q4_K, 1 q6_K. One super-block of 8 rows is unpacked into 64 step vectors once and
/// used against C columns: per column, 64 VNNI products, one 32-bit multiply by the sub-block
/// scales per sub-block, and the min (q4_K) or offset (q6_K) term from the q8_K block sums by
/// 16-bit pair products.
HS_INLINE void tile_k8(const int FORMAT, const int C, const uint8_t *w, const uint8_t *x, size_t xs,
                       long nsb, float *y, size_t ys) {
    const int gbytes = FORMAT == 0 ? 1248 : 1808;
    const int nsub = FORMAT == 0 ? 8 : 16, steps = 64 / nsub;
    __m256 acc[8], macc[8];
    HS_UNROLL for (int c = 0; c < C; c++) { acc[c] = _mm256_setzero_ps(); macc[c] = _mm256_setzero_ps(); }
    for (long b = 0; b < nsb; b++) {
        const uint8_t *p = w + b * gbytes;
        HS_UNROLL for (int l = 0; l < gbytes; l += 64) _mm_prefetch((const char *)p + HS_PREFETCH_AHEAD + l, _MM_HINT_T0);
        __m256i u[64], sc[16], pairs[8];
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        __m256 dmin = _mm256_setzero_ps();
        const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
        if (FORMAT == 0) {
            dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16)));
            HS_UNROLL for (int j = 0; j < 8; j++) sc[j] = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 32 + 8 * j)));
            HS_UNROLL for (int q = 0; q < 4; q++) pairs[q] = load32(p + 96 + 32 * q);
            HS_UNROLL for (int i = 0; i < 4; i++) HS_UNROLL for (int s = 0; s < 8; s++) {
                __m256i v = load32(p + 224 + 256 * i + 32 * s);
                u[16 * i + s] = _mm256_and_si256(v, m4);
                u[16 * i + 8 + s] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
        } else {
            HS_UNROLL for (int q = 0; q < 8; q++) {
                pairs[q] = load32(p + 16 + 32 * q);
                sc[2 * q] = _mm256_srai_epi32(_mm256_slli_epi32(pairs[q], 16), 16);
                sc[2 * q + 1] = _mm256_srai_epi32(pairs[q], 16);
            }
            const uint8_t *low = p + 272, *high = p + 272 + 1024;
            HS_UNROLL for (int t = 0; t < 32; t++) {
                __m256i l = load32(low + 32 * t);
                u[t] = _mm256_and_si256(l, m4);
                u[t + 32] = _mm256_and_si256(_mm256_srli_epi16(l, 4), m4);
            }
            HS_UNROLL for (int t = 0; t < 16; t++) {
                __m256i h = load32(high + 32 * t);
                u[t] = _mm256_or_si256(u[t], _mm256_and_si256(_mm256_slli_epi16(h, 4), m2));
                u[t + 16] = _mm256_or_si256(u[t + 16], _mm256_and_si256(_mm256_slli_epi16(h, 2), m2));
                u[t + 32] = _mm256_or_si256(u[t + 32], _mm256_and_si256(h, m2));
                u[t + 48] = _mm256_or_si256(u[t + 48], _mm256_and_si256(_mm256_srli_epi16(h, 2), m2));
            }
        }
        HS_UNROLL for (int c = 0; c < C; c++) {
            const uint8_t *q = x + c * xs + b * 292;
            float daf; memcpy(&daf, q, 4);
            const __m256 da = _mm256_set1_ps(daf);
            const uint8_t *a = q + 4;
            __m256i isum = _mm256_setzero_si256();
            HS_UNROLL for (int j = 0; j < nsub; j++) {
                __m256i dj = _mm256_setzero_si256();
                HS_UNROLL for (int s = 0; s < steps; s++) {
                    const int t = j * steps + s;
                    dj = dot_u8i8(dj, u[t], _mm256_set1_epi32(load_i32(a + 4 * t)));
                }
                isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(dj, sc[j]));
            }
            __m256i corr = _mm256_setzero_si256();
            if (FORMAT == 0) {
                // Sums of 32 activations, paired as the mins are: (sub 2p, sub 2p + 1).
                const __m128i one = _mm_set1_epi16(1);
                __m128i s03 = _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(q + 260)), one);
                __m128i s47 = _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(q + 276)), one);
                __m128i packed = _mm_packs_epi32(s03, s47);
                int32_t pr[4]; _mm_storeu_si128((__m128i *)pr, packed);
                HS_UNROLL for (int pp = 0; pp < 4; pp++) corr = dot_i16(corr, pairs[pp], _mm256_set1_epi32(pr[pp]));
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, da), acc[c]);
                macc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(corr), _mm256_mul_ps(dmin, da), macc[c]);
            } else {
                // q8_K's sums of 16 are already int16 pairs (sub 2p, sub 2p + 1).
                HS_UNROLL for (int pp = 0; pp < 8; pp++) corr = dot_i16(corr, pairs[pp], _mm256_set1_epi32(load_i32(q + 260 + 4 * pp)));
                isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 5));
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, da), acc[c]);
            }
        }
    }
    HS_UNROLL for (int c = 0; c < C; c++) _mm256_storeu_ps(y + c * ys, _mm256_sub_ps(acc[c], macc[c]));
}

#define HS_K8_CASE(F, C) case C: tile_k8(F, C, wp, xp, xs, nsb, yp, ys); break;

#define HS_DEFINE_K8(NAME, F)                                                                      \
static void NAME(const void *w, size_t ws, const void *x, size_t xs, float *y, size_t ys,          \
                 long rows, long cols, long k) {                                                   \
    const long nsb = k / 256;                                                                      \
    for (long c0 = 0; c0 < cols; c0 += HS_X8_CHUNK) {                                              \
        const long n = cols - c0 < HS_X8_CHUNK ? cols - c0 : HS_X8_CHUNK;                          \
        for (long g = 0; g < rows / 8; g++) {                                                      \
            const uint8_t *wp = (const uint8_t *)w + g * ws;                                       \
            for (long cc = 0; cc < n; cc += 4) {                                                   \
                const int C = n - cc < 4 ? (int)(n - cc) : 4;                                      \
                const uint8_t *xp = (const uint8_t *)x + (c0 + cc) * xs;                           \
                float *yp = y + (c0 + cc) * ys + 8 * g;                                            \
                switch (C) { HS_K8_CASE(F, 1) HS_K8_CASE(F, 2) HS_K8_CASE(F, 3) HS_K8_CASE(F, 4) } \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
}

HS_DEFINE_K8(matmul_x8_q4_K, 0)
HS_DEFINE_K8(matmul_x8_q6_K, 1)

hearth_matmul_fn HS_REPACKED_LOOKUP(int type) {
    switch (type) {
        case 2: return matmul_x8_q4_0;
        case 3: return matmul_x8_q4_1;
        case 6: return matmul_x8_q5_0;
#if HS_VNNI
        case 8: return matmul_x8_q8_0;
#endif
        case 12: return matmul_x8_q4_K;
        case 14: return matmul_x8_q6_K;
        default: return NULL;
    }
}
