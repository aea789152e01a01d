// The quantized matrix-product kernels, written once and compiled once per x86 path:
// x86_avx2.c includes this file with HS_VNNI 0, x86_avx512vnni.c with HS_VNNI 1, each under
// its own `target` attribute. The two paths differ only in the two integer primitives below.
//
// Shape of every kernel: a tile of R weight rows x C activation columns (R, C <= 4) is kept in
// registers; for each block of the row, the R weight blocks are unpacked to bytes once and used
// against the C activation blocks, and the C activation blocks are loaded once and used against
// the R weight rows. Matrix-vector products (C = 1, generation) stream each weight row once;
// matrix-matrix products (prompts) reuse each unpacked weight block C times.
//
// All vectors are 256 bits (one 32-element block per vector): on AMD Zen 4 512-bit operations
// are split in two, so the wider registers would buy no throughput.
//
// Block layouts are ggml's (see LegacyQuants.swift and KQuants.swift for the formulas):
//   q4_0 18 B: d f16 | qs[16]          q8_0 34 B: d f16 | qs[32] i8
//   q4_1 20 B: d, m f16 | qs[16]       q8_1 36 B: d, s f16 | qs[32] i8   (s = d * sum qs)
//   q5_0 22 B: d f16 | qh u32 | qs[16]      q5_1 24 B: d, m f16 | qh u32 | qs[16]
//   q4_K 144 B: d, dmin f16 | scales[12] | qs[128]
//   q6_K 210 B: ql[128] | qh[64] | scales[16] i8 | d f16
//   q8_K 292 B: d f32 | qs[256] i8 | bsums[16] i16

#include <immintrin.h>
#include "vector_math.h"
#include <stdint.h>
#include <string.h>

#define HS_INLINE static inline __attribute__((always_inline))
/// Loops over tile rows, columns and sub-blocks have trip counts known at compile time; they
/// must be unrolled completely so that the accumulator arrays live in registers.
#define HS_UNROLL _Pragma("clang loop unroll(full)")

// MARK: primitives

/// acc + (sum of 4 adjacent products u8 * i8) per 32-bit lane. The AVX2 form goes through
/// 16-bit pair sums, which saturate above 32767: every caller keeps u * |s| * 2 below that.
HS_INLINE __m256i dot_u8i8(__m256i acc, __m256i u, __m256i s) {
#if HS_VNNI
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

/// acc + (sum of 2 adjacent products i16 * i16) per 32-bit lane.
HS_INLINE __m256i dot_i16(__m256i acc, __m256i a, __m256i b) {
#if HS_VNNI
    return _mm256_dpwssd_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

/// 0xFF in byte i where bit i of `bits` is set, else 0.
HS_INLINE __m256i bytes_from_bits(uint32_t bits) {
#if HS_VNNI
    return _mm256_movm_epi8(bits);
#else
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
#endif
}

HS_INLINE float f16_to_f32(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// The 32 nibbles of a 16-byte q4 block as bytes in element order: low nibbles are
/// elements 0..15, high nibbles 16..31.
HS_INLINE __m256i nibbles_32(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

HS_INLINE __m256i load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// Weight rows are read once per token from a memory-mapped file, whose 4 KiB pages stop the
/// hardware prefetchers at every page boundary; asking for the bytes a little ahead keeps the
/// memory busy across them.
#define HS_PREFETCH_AHEAD 1024
HS_INLINE void prefetch_weights(const uint8_t *p) { _mm_prefetch((const char *)p + HS_PREFETCH_AHEAD, _MM_HINT_T0); }

/// -offset * (sum of the block's 32 activations) spread over 8 lanes, as the starting value
/// of a dot product whose weights are stored as unsigned q + offset.
HS_INLINE __m256i offset_correction(__m256i a, int shift) {
    __m256i sums = dot_u8i8(_mm256_setzero_si256(), _mm256_set1_epi8(1), a);
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, shift));
}

// MARK: 32-element block formats

/// Weights stored as unsigned u = q + 2^shift (q4_0: shift 3, q5_0: shift 4) against q8_0.
/// `HIGH_BIT` adds q5_0's fifth bit.
#define HS_OFFSET_TILE(NAME, BLOCK_BYTES, QS_AT, HIGH_BIT, SHIFT)                                  \
HS_INLINE void NAME(const int R, const int C, const uint8_t *w, size_t ws, const uint8_t *x,       \
                    size_t xs, float *y, size_t ys, long nb) {                                     \
    __m256 acc[4][4];                                                                              \
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();      \
    for (long b = 0; b < nb; b++) {                                                                \
        __m256i u[4]; __m256 dw[4];                                                                \
        HS_UNROLL for (int r = 0; r < R; r++) {                                                              \
            const uint8_t *p = w + r * ws + b * (BLOCK_BYTES);                                     \
            prefetch_weights(p);                                                                   \
            dw[r] = _mm256_set1_ps(f16_to_f32(p));                                                 \
            u[r] = nibbles_32(p + (QS_AT));                                                        \
            if (HIGH_BIT) {                                                                        \
                uint32_t qh; memcpy(&qh, p + 2, 4);                                                \
                u[r] = _mm256_or_si256(u[r], _mm256_and_si256(bytes_from_bits(qh), _mm256_set1_epi8(0x10))); \
            }                                                                                      \
        }                                                                                          \
        HS_UNROLL for (int c = 0; c < C; c++) {                                                              \
            const uint8_t *q = x + c * xs + b * 34;                                                \
            __m256 da = _mm256_set1_ps(f16_to_f32(q));                                             \
            __m256i a = load32(q + 2);                                                             \
            __m256i start = offset_correction(a, SHIFT);                                           \
            HS_UNROLL for (int r = 0; r < R; r++) {                                                          \
                __m256i dot = dot_u8i8(start, u[r], a);                                            \
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[r], da), acc[r][c]); \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) y[c * ys + r] = hs_hsum8(acc[r][c]);      \
}

HS_OFFSET_TILE(tile_q4_0, 18, 2, 0, 3)
HS_OFFSET_TILE(tile_q5_0, 22, 6, 1, 4)

/// Weights with a min against q8_1: sum (q * d + m) * (a * da) = d * da * sum(q * a) + m * s
/// (q4_1; q5_1 with `HIGH_BIT`, the fifth bit of each quant from qh).
#define HS_MIN_TILE(NAME, BLOCK_BYTES, QS_AT, HIGH_BIT)                                            \
HS_INLINE void NAME(const int R, const int C, const uint8_t *w, size_t ws, const uint8_t *x,       \
                    size_t xs, float *y, size_t ys, long nb) {                                     \
    __m256 acc[4][4];                                                                              \
    float mins[4][4];                                                                              \
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) { acc[r][c] = _mm256_setzero_ps(); mins[r][c] = 0; } \
    for (long b = 0; b < nb; b++) {                                                                \
        __m256i u[4]; __m256 dw[4]; float m[4];                                                    \
        HS_UNROLL for (int r = 0; r < R; r++) {                                                    \
            const uint8_t *p = w + r * ws + b * (BLOCK_BYTES);                                     \
            prefetch_weights(p);                                                                   \
            dw[r] = _mm256_set1_ps(f16_to_f32(p));                                                 \
            m[r] = f16_to_f32(p + 2);                                                              \
            u[r] = nibbles_32(p + (QS_AT));                                                        \
            if (HIGH_BIT) {                                                                        \
                uint32_t qh; memcpy(&qh, p + 4, 4);                                                \
                u[r] = _mm256_or_si256(u[r], _mm256_and_si256(bytes_from_bits(qh), _mm256_set1_epi8(0x10))); \
            }                                                                                      \
        }                                                                                          \
        HS_UNROLL for (int c = 0; c < C; c++) {                                                    \
            const uint8_t *q = x + c * xs + b * 36;                                                \
            __m256 da = _mm256_set1_ps(f16_to_f32(q));                                             \
            float s = f16_to_f32(q + 2);                                                           \
            __m256i a = load32(q + 4);                                                             \
            HS_UNROLL for (int r = 0; r < R; r++) {                                                \
                __m256i dot = dot_u8i8(_mm256_setzero_si256(), u[r], a);                           \
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[r], da), acc[r][c]); \
                mins[r][c] += m[r] * s;                                                            \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) y[c * ys + r] = hs_hsum8(acc[r][c]) + mins[r][c]; \
}

HS_MIN_TILE(tile_q4_1, 20, 4, 0)
HS_MIN_TILE(tile_q5_1, 24, 8, 1)

/// q8_0 against q8_0: |w| times a with w's sign moved onto a, so the unsigned-by-signed
/// product applies (|w| <= 127 keeps the AVX2 pair sums below 32767).
HS_INLINE void tile_q8_0(const int R, const int C, const uint8_t *w, size_t ws, const uint8_t *x,
                         size_t xs, float *y, size_t ys, long nb) {
    __m256 acc[4][4];
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++) {
        __m256i wv[4], u[4]; __m256 dw[4];
        HS_UNROLL for (int r = 0; r < R; r++) {
            const uint8_t *p = w + r * ws + b * 34;
            prefetch_weights(p);
            dw[r] = _mm256_set1_ps(f16_to_f32(p));
            wv[r] = load32(p + 2);
            u[r] = _mm256_sign_epi8(wv[r], wv[r]);
        }
        HS_UNROLL for (int c = 0; c < C; c++) {
            const uint8_t *q = x + c * xs + b * 34;
            __m256 da = _mm256_set1_ps(f16_to_f32(q));
            __m256i a = load32(q + 2);
            HS_UNROLL for (int r = 0; r < R; r++) {
                __m256i dot = dot_u8i8(_mm256_setzero_si256(), u[r], _mm256_sign_epi8(a, wv[r]));
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[r], da), acc[r][c]);
            }
        }
    }
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) y[c * ys + r] = hs_hsum8(acc[r][c]);
}

// MARK: 256-element K-quant formats against q8_K

/// The q8_K block's 16 sums of 16 activations, paired into the 8 sums of 32.
HS_INLINE __m256i q8k_sums32(const uint8_t *q) {
    return _mm256_madd_epi16(load32(q + 260), _mm256_set1_epi16(1));
}

/// q4_K: x = d * sc_j * nib - dmin * m_j over 8 sub-blocks j of 32 (6-bit sc_j, m_j).
/// dot = d * da * sum_j sc_j * sum(nib * a) - dmin * da * sum_j m_j * sum32_j(a).
HS_INLINE void tile_q4_K(const int R, const int C, const uint8_t *w, size_t ws, const uint8_t *x,
                         size_t xs, float *y, size_t ys, long nb) {
    __m256 acc[4][4], macc[4][4];
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) {
        acc[r][c] = _mm256_setzero_ps(); macc[r][c] = _mm256_setzero_ps();
    }
    for (long b = 0; b < nb; b++) {
        __m256i u[4][8], sc16[4][8], mins[4];
        __m256 d[4], dmin[4];
        HS_UNROLL for (int r = 0; r < R; r++) {
            const uint8_t *p = w + r * ws + b * 144;
            prefetch_weights(p);
            d[r] = _mm256_set1_ps(f16_to_f32(p));
            dmin[r] = _mm256_set1_ps(f16_to_f32(p + 2));
            const uint8_t *s = p + 4;
            int32_t m[8];
            HS_UNROLL for (int j = 0; j < 8; j++) {
                int sc;
                if (j < 4) { sc = s[j] & 63; m[j] = s[j + 4] & 63; }
                else {
                    sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
                    m[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
                }
                sc16[r][j] = _mm256_set1_epi16((short)sc);
            }
            mins[r] = _mm256_loadu_si256((const __m256i *)m);
            // Byte l of group i holds element 64i + l (low nibble) and 64i + 32 + l (high).
            HS_UNROLL for (int i = 0; i < 4; i++) {
                __m256i v = load32(p + 16 + 32 * i);
                u[r][2 * i] = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
                u[r][2 * i + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
            }
        }
        HS_UNROLL for (int c = 0; c < C; c++) {
            const uint8_t *q = x + c * xs + b * 292;
            float daf; memcpy(&daf, q, 4);
            __m256 da = _mm256_set1_ps(daf);
            __m256i sums32 = q8k_sums32(q);
            __m256i a[8];
            HS_UNROLL for (int j = 0; j < 8; j++) a[j] = load32(q + 4 + 32 * j);
            HS_UNROLL for (int r = 0; r < R; r++) {
                __m256i isum = _mm256_setzero_si256();
                HS_UNROLL for (int j = 0; j < 8; j++) isum = dot_i16(isum, _mm256_maddubs_epi16(u[r][j], a[j]), sc16[r][j]);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d[r], da), acc[r][c]);
                __m256i msum = _mm256_mullo_epi32(mins[r], sums32);
                macc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin[r], da), macc[r][c]);
            }
        }
    }
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) y[c * ys + r] = hs_hsum8(acc[r][c]) - hs_hsum8(macc[r][c]);
}

/// q6_K: x = d * sc_j * (q6 - 32) over 16 sub-blocks j of 16 (signed 8-bit sc_j).
/// dot = d * da * (sum_j sc_j * sum(q6 * a) - 32 * sum_j sc_j * sum16_j(a)).
HS_INLINE void tile_q6_K(const int R, const int C, const uint8_t *w, size_t ws, const uint8_t *x,
                         size_t xs, float *y, size_t ys, long nb) {
    __m256 acc[4][4];
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    for (long b = 0; b < nb; b++) {
        __m256i u[4][8], scales[4], pairs[4][8];
        __m256 d[4];
        HS_UNROLL for (int r = 0; r < R; r++) {
            const uint8_t *p = w + r * ws + b * 210;
            prefetch_weights(p);
            d[r] = _mm256_set1_ps(f16_to_f32(p + 208));
            __m128i s8 = _mm_loadu_si128((const __m128i *)(p + 192));
            scales[r] = _mm256_cvtepi8_epi16(s8);
            HS_UNROLL for (int h = 0; h < 2; h++) {
                const uint8_t *ql = p + 64 * h, *qh = p + 128 + 32 * h;
                __m256i l0 = load32(ql), l1 = load32(ql + 32), hb = load32(qh);
                u[r][4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m2));
                u[r][4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m2));
                u[r][4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m2));
                u[r][4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), m2));
                // Vector g of half h covers sub-blocks 8h + 2g and 8h + 2g + 1.
                HS_UNROLL for (int g = 0; g < 4; g++) {
                    int8_t s0 = (int8_t)p[192 + 8 * h + 2 * g], s1 = (int8_t)p[192 + 8 * h + 2 * g + 1];
                    pairs[r][4 * h + g] = _mm256_set_m128i(_mm_set1_epi16(s1), _mm_set1_epi16(s0));
                }
            }
        }
        HS_UNROLL for (int c = 0; c < C; c++) {
            const uint8_t *q = x + c * xs + b * 292;
            float daf; memcpy(&daf, q, 4);
            __m256 da = _mm256_set1_ps(daf);
            __m256i bsums = load32(q + 260);
            __m256i a[8];
            HS_UNROLL for (int j = 0; j < 8; j++) a[j] = load32(q + 4 + 32 * j);
            HS_UNROLL for (int r = 0; r < R; r++) {
                __m256i isum = _mm256_setzero_si256();
                HS_UNROLL for (int j = 0; j < 8; j++) isum = dot_i16(isum, _mm256_maddubs_epi16(u[r][j], a[j]), pairs[r][j]);
                __m256i offset = _mm256_madd_epi16(scales[r], bsums);
                isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5));
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d[r], da), acc[r][c]);
            }
        }
    }
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) y[c * ys + r] = hs_hsum8(acc[r][c]);
}

// MARK: float formats against f32 activations

/// Weights in f32, f16 or bf16 against f32 activations, 8 elements per step (the caller
/// keeps k a multiple of 8). `LOAD` turns 8 stored weights at `p` into floats.
#define HS_FLOAT_TILE(NAME, STEP_BYTES, LOAD)                                                      \
HS_INLINE void NAME(const int R, const int C, const uint8_t *w, size_t ws, const uint8_t *x,       \
                    size_t xs, float *y, size_t ys, long nb) {                                     \
    __m256 acc[4][4];                                                                              \
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps(); \
    for (long b = 0; b < nb; b++) {                                                                \
        __m256 wv[4];                                                                              \
        HS_UNROLL for (int r = 0; r < R; r++) {                                                    \
            const uint8_t *p = w + r * ws + b * (STEP_BYTES);                                      \
            prefetch_weights(p);                                                                   \
            wv[r] = LOAD(p);                                                                       \
        }                                                                                          \
        HS_UNROLL for (int c = 0; c < C; c++) {                                                    \
            __m256 a = _mm256_loadu_ps((const float *)(x + c * xs) + b * 8);                       \
            HS_UNROLL for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(wv[r], a, acc[r][c]); \
        }                                                                                          \
    }                                                                                              \
    HS_UNROLL for (int r = 0; r < R; r++) HS_UNROLL for (int c = 0; c < C; c++) y[c * ys + r] = hs_hsum8(acc[r][c]); \
}

HS_INLINE __m256 load_f32x8(const uint8_t *p) { return _mm256_loadu_ps((const float *)p); }
HS_INLINE __m256 load_f16x8(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
/// bf16 is the upper half of an f32.
HS_INLINE __m256 load_bf16x8(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

HS_FLOAT_TILE(tile_f32, 32, load_f32x8)
HS_FLOAT_TILE(tile_f16, 16, load_f16x8)
HS_FLOAT_TILE(tile_bf16, 16, load_bf16x8)

// MARK: drivers

/// Columns are taken in chunks that stay in the L1/L2 caches while every row tile passes over
/// them; within a chunk, tiles of 4 x 4 (smaller at the edges).
#define HS_COLUMN_CHUNK 32

#define HS_CASE(TILE, R, C) case (R) * 8 + (C): TILE(R, C, wp, ws, xp, xs, yp, ys, nb); break;
#define HS_CASES(TILE, R) HS_CASE(TILE, R, 1) HS_CASE(TILE, R, 2) HS_CASE(TILE, R, 3) HS_CASE(TILE, R, 4)

#define HS_DEFINE_MATMUL(NAME, TILE, QK, MAXC)                                                     \
static void NAME(const void *w, size_t ws, const void *x, size_t xs, float *y, size_t ys,          \
                 long rows, long cols, long k) {                                                   \
    const long nb = k / (QK);                                                                      \
    for (long c0 = 0; c0 < cols; c0 += HS_COLUMN_CHUNK) {                                          \
        const long c1 = c0 + HS_COLUMN_CHUNK < cols ? c0 + HS_COLUMN_CHUNK : cols;                 \
        for (long r = 0; r < rows; r += 4) {                                                       \
            const int R = rows - r < 4 ? (int)(rows - r) : 4;                                      \
            for (long c = c0; c < c1; c += (MAXC)) {                                               \
                const int C = c1 - c < (MAXC) ? (int)(c1 - c) : (MAXC);                            \
                const uint8_t *wp = (const uint8_t *)w + r * ws;                                   \
                const uint8_t *xp = (const uint8_t *)x + c * xs;                                   \
                float *yp = y + c * ys + r;                                                        \
                switch (R * 8 + C) {                                                               \
                    HS_CASES(TILE, 1) HS_CASES(TILE, 2) HS_CASES(TILE, 3) HS_CASES(TILE, 4)        \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
}

// The K tiles hold 8 unpacked vectors per row: 4 rows x 2 columns keeps them in registers.
HS_DEFINE_MATMUL(matmul_q4_0, tile_q4_0, 32, 4)
HS_DEFINE_MATMUL(matmul_q4_1, tile_q4_1, 32, 4)
HS_DEFINE_MATMUL(matmul_q5_0, tile_q5_0, 32, 4)
HS_DEFINE_MATMUL(matmul_q5_1, tile_q5_1, 32, 4)
HS_DEFINE_MATMUL(matmul_q8_0, tile_q8_0, 32, 4)
HS_DEFINE_MATMUL(matmul_q4_K, tile_q4_K, 256, 2)
HS_DEFINE_MATMUL(matmul_q6_K, tile_q6_K, 256, 2)
// 4 rows x 2 columns of float accumulators, the 4 weight vectors and one activation fit in 16 registers.
HS_DEFINE_MATMUL(matmul_f32, tile_f32, 8, 2)
HS_DEFINE_MATMUL(matmul_f16, tile_f16, 8, 2)
HS_DEFINE_MATMUL(matmul_bf16, tile_bf16, 8, 2)

/// This path's kernel for ggml type `type`, or NULL.
hearth_matmul_fn HS_LOOKUP(int type) {
    switch (type) {
        case 0: return matmul_f32;
        case 1: return matmul_f16;
        case 30: return matmul_bf16;
        case 2: return matmul_q4_0;
        case 3: return matmul_q4_1;
        case 6: return matmul_q5_0;
        case 7: return matmul_q5_1;
        case 8: return matmul_q8_0;
        case 12: return matmul_q4_K;
        case 14: return matmul_q6_K;
        default: return NULL;
    }
}
