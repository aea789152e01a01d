// Repacking of weight rows into the 8-row interleaved layouts of the "x8" kernels (x8_body.h,
// compiled for both x86 paths; q8_0 for the VNNI path only). Plain byte shuffling.
//
// A group of 8 consecutive rows is stored block after block; one block of the group holds the
// 32 elements j of each of the 8 rows r, in 8 steps s of 4 elements (elements 4s..4s+3), so
// that one 32-byte vector of a step holds [row 0: 4 bytes, row 1: 4 bytes, ..., row 7: 4 bytes]
// and one VNNI instruction computes 4 products for each of the 8 rows against one broadcast
// group of 4 activations.
//
//   q4_0x8 (8 x 18 B): d[8] f16 | nib[128]
//   q4_1x8 (8 x 20 B): d[8] f16 | m[8] f16 | nib[128]
//   q5_0x8 (8 x 22 B): d[8] f16 | high[8] u32 | nib[128]
//   q8_0x8 (8 x 34 B): d[8] f16 | u8[256]
//
// The K formats (256-element super-blocks, against q8_K) use 64 steps of 4 elements:
//   q4_Kx8 (1248 B): d[8] f16 | dmin[8] f16 | sc[8 sub][8 rows] u8 | mins[4][8 rows] i16 pairs
//                    (m of sub 2p, m of sub 2p + 1) | nib[4][8 steps][32]
//     nib[i][s][4r + j] is byte 32i + 4s + j of row r's qs: its low nibble is element
//     64i + 4s + j (sub-block 2i), its high nibble element 64i + 32 + 4s + j (sub-block 2i + 1).
//   q6_Kx8 (1808 B): d[8] f16 | sc[8][8 rows] i16 pairs (sc of sub 2p, sc of sub 2p + 1) |
//                    low[32][32] | high[16][32], the 6-bit value q (0..63, weight q - 32) of
//                    step t in low[t % 32] (nibble t / 32) and high[t % 16] (2 bits at 2 (t / 16)).
//
// nib[32 g + 4 r + i] (g < 4) holds element 4g + i of row r in its low nibble and element
// 16 + 4g + i in its high nibble: step g is the low nibbles of 32-byte vector g, step g + 4 its
// high nibbles. q5_0's fifth bits: bit 4r + i of high[s] is the fifth bit of element 4s + i of
// row r. q8_0's bytes: u8[32 s + 4 r + i] = element 4s + i of row r, plus 128 (XOR 0x80),
// so that the VNNI unsigned-by-signed product applies; the kernel subtracts 128 * sum(a).
#include "HearthSIMD.h"
#include <stdint.h>
#include <string.h>

/// Element j (0..31) of a q4/q5 block's nibbles: low nibbles are elements 0..15.
static inline uint8_t nibble(const uint8_t *qs, int j) {
    return j < 16 ? (qs[j] & 0x0f) : (qs[j - 16] >> 4);
}

static void pack_nibbles(uint8_t *dst, const uint8_t *const qs[8]) {
    for (int g = 0; g < 4; g++)
        for (int r = 0; r < 8; r++)
            for (int i = 0; i < 4; i++)
                dst[32 * g + 4 * r + i] = (uint8_t)(nibble(qs[r], 4 * g + i) | (nibble(qs[r], 16 + 4 * g + i) << 4));
}

/// q4_K's 6-bit scale and min of sub-block j from its 12 packed bytes.
static void q4k_scale_min(const uint8_t *s, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) { *sc = s[j] & 63; *m = s[j + 4] & 63; }
    else {
        *sc = (uint8_t)((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/// q6_K's 6-bit value (0..63) of element e of a 210-byte block.
static uint8_t q6k_value(const uint8_t *blk, int e) {
    const uint8_t *ql = blk, *qh = blk + 128;
    const int h = e / 128, r = e % 128, part = r / 32, l = r % 32;
    const uint8_t low = part == 0 ? (ql[64 * h + l] & 0x0f) : part == 1 ? (ql[64 * h + 32 + l] & 0x0f)
                      : part == 2 ? (ql[64 * h + l] >> 4) : (ql[64 * h + 32 + l] >> 4);
    return (uint8_t)(low | (((qh[32 * h + l] >> (2 * part)) & 3) << 4));
}

static void repack_q4_K(uint8_t *out, const uint8_t *const blk[8]) {
    for (int r = 0; r < 8; r++) { memcpy(out + 2 * r, blk[r], 2); memcpy(out + 16 + 2 * r, blk[r] + 2, 2); }
    for (int r = 0; r < 8; r++) {
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            q4k_scale_min(blk[r] + 4, j, &sc, &m);
            out[32 + 8 * j + r] = sc;
            int16_t mv = m;
            memcpy(out + 96 + 2 * (8 * 2 * (j / 2) + 2 * r + (j % 2)), &mv, 2);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int s = 0; s < 8; s++)
            for (int r = 0; r < 8; r++)
                memcpy(out + 224 + 256 * i + 32 * s + 4 * r, blk[r] + 16 + 32 * i + 4 * s, 4);
}

static void repack_q6_K(uint8_t *out, const uint8_t *const blk[8]) {
    for (int r = 0; r < 8; r++) memcpy(out + 2 * r, blk[r] + 208, 2);
    for (int r = 0; r < 8; r++)
        for (int j = 0; j < 16; j++) {
            int16_t sc = (int8_t)blk[r][192 + j];
            memcpy(out + 16 + 2 * (8 * 2 * (j / 2) + 2 * r + (j % 2)), &sc, 2);
        }
    uint8_t *low = out + 272, *high = out + 272 + 1024;
    memset(low, 0, 1024 + 512);
    for (int t = 0; t < 64; t++)
        for (int r = 0; r < 8; r++)
            for (int j = 0; j < 4; j++) {
                const uint8_t q = q6k_value(blk[r], 4 * t + j);
                low[32 * (t % 32) + 4 * r + j] |= (uint8_t)((q & 0x0f) << (4 * (t / 32)));
                high[32 * (t % 16) + 4 * r + j] |= (uint8_t)((q >> 4) << (2 * (t / 16)));
            }
}

/// Bytes of one block of a 32-element format that has an interleaved layout, else 0.
static int legacy_block_bytes(int ggml_type) {
    switch (ggml_type) {
        case 2: return 18;
        case 3: return 20;
        case 6: return 22;
        case 8: return 34;
        default: return 0;
    }
}

long hearth_simd_repacked_group_bytes(int ggml_type, long k) {
    if ((ggml_type == 12 || ggml_type == 14) && k % 256 == 0) return (ggml_type == 12 ? 1248 : 1808) * (k / 256);
    if (k % 32 != 0) return 0;
    return 8 * legacy_block_bytes(ggml_type) * (k / 32);
}

int hearth_simd_repack(int ggml_type, const void *src, size_t src_stride, void *dst, long rows, long k) {
    const long group = hearth_simd_repacked_group_bytes(ggml_type, k);
    if (group == 0 || rows % 8 != 0) return 0;
    if (ggml_type == 12 || ggml_type == 14) {
        const long blocks = k / 256, in_bytes = ggml_type == 12 ? 144 : 210, out_bytes = ggml_type == 12 ? 1248 : 1808;
        for (long g = 0; g < rows / 8; g++)
            for (long b = 0; b < blocks; b++) {
                const uint8_t *blk[8];
                for (int r = 0; r < 8; r++) blk[r] = (const uint8_t *)src + (g * 8 + r) * src_stride + b * in_bytes;
                uint8_t *out = (uint8_t *)dst + g * group + b * out_bytes;
                if (ggml_type == 12) repack_q4_K(out, blk); else repack_q6_K(out, blk);
            }
        return 1;
    }
    const long nb = k / 32;
    for (long g = 0; g < rows / 8; g++) {
        uint8_t *out = (uint8_t *)dst + g * group;
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk[8];
            for (int r = 0; r < 8; r++) blk[r] = (const uint8_t *)src + (g * 8 + r) * src_stride + b * legacy_block_bytes(ggml_type);
            for (int r = 0; r < 8; r++) memcpy(out + 2 * r, blk[r], 2);          // d
            switch (ggml_type) {
                case 2: {
                    const uint8_t *qs[8];
                    for (int r = 0; r < 8; r++) qs[r] = blk[r] + 2;
                    pack_nibbles(out + 16, qs);
                    out += 144;
                    break;
                }
                case 3: {
                    const uint8_t *qs[8];
                    for (int r = 0; r < 8; r++) { memcpy(out + 16 + 2 * r, blk[r] + 2, 2); qs[r] = blk[r] + 4; }
                    pack_nibbles(out + 32, qs);
                    out += 160;
                    break;
                }
                case 6: {
                    const uint8_t *qs[8];
                    uint32_t high[8] = {0};
                    for (int r = 0; r < 8; r++) {
                        uint32_t qh; memcpy(&qh, blk[r] + 2, 4);
                        qs[r] = blk[r] + 6;
                        for (int s = 0; s < 8; s++)
                            for (int i = 0; i < 4; i++)
                                high[s] |= ((qh >> (4 * s + i)) & 1u) << (4 * r + i);
                    }
                    memcpy(out + 16, high, 32);
                    pack_nibbles(out + 48, qs);
                    out += 176;
                    break;
                }
                case 8: {
                    for (int s = 0; s < 8; s++)
                        for (int r = 0; r < 8; r++)
                            for (int i = 0; i < 4; i++)
                                out[16 + 32 * s + 4 * r + i] = blk[r][2 + 4 * s + i] ^ 0x80;
                    out += 272;
                    break;
                }
            }
        }
    }
    return 1;
}

int hearth_simd_unpack_row(int ggml_type, const void *group, long row, long k, void *dst) {
    if (hearth_simd_repacked_group_bytes(ggml_type, k) == 0 || row < 0 || row >= 8) return 0;
    const uint8_t *g = (const uint8_t *)group;
    uint8_t *out = (uint8_t *)dst;
    const int r = (int)row;
    if (ggml_type == 12 || ggml_type == 14) {
        for (long b = 0; b < k / 256; b++) {
            if (ggml_type == 12) {
                const uint8_t *p = g + b * 1248;
                uint8_t *o = out + b * 144;
                memcpy(o, p + 2 * r, 2);
                memcpy(o + 2, p + 16 + 2 * r, 2);
                uint8_t sc[8], m[8];
                for (int j = 0; j < 8; j++) {
                    int16_t mv;
                    sc[j] = p[32 + 8 * j + r];
                    memcpy(&mv, p + 96 + 2 * (8 * 2 * (j / 2) + 2 * r + (j % 2)), 2);
                    m[j] = (uint8_t)mv;
                }
                // The inverse of q4k_scale_min: 6-bit values, high bits of 4..7 in the top of 0..7.
                for (int j = 0; j < 4; j++) {
                    o[4 + j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
                    o[4 + j + 4] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
                    o[4 + j + 8] = (uint8_t)((sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4));
                }
                for (int i = 0; i < 4; i++)
                    for (int s = 0; s < 8; s++)
                        memcpy(o + 16 + 32 * i + 4 * s, p + 224 + 256 * i + 32 * s + 4 * r, 4);
            } else {
                const uint8_t *p = g + b * 1808;
                uint8_t *o = out + b * 210;
                memset(o, 0, 192);
                memcpy(o + 208, p + 2 * r, 2);
                for (int j = 0; j < 16; j++) {
                    int16_t sc;
                    memcpy(&sc, p + 16 + 2 * (8 * 2 * (j / 2) + 2 * r + (j % 2)), 2);
                    o[192 + j] = (uint8_t)(int8_t)sc;
                }
                const uint8_t *low = p + 272, *high = p + 272 + 1024;
                for (int e = 0; e < 256; e++) {
                    const int t = e / 4, jj = e % 4;
                    const uint8_t q = (uint8_t)(((low[32 * (t % 32) + 4 * r + jj] >> (4 * (t / 32))) & 0x0f)
                                              | (((high[32 * (t % 16) + 4 * r + jj] >> (2 * (t / 16))) & 3) << 4));
                    // Where q6k_value reads element e from.
                    const int h = e / 128, rr = e % 128, part = rr / 32, l = rr % 32;
                    uint8_t *ql = o + 64 * h + (part & 1) * 32 + l;
                    *ql |= (uint8_t)((q & 0x0f) << (part >= 2 ? 4 : 0));
                    o[128 + 32 * h + l] |= (uint8_t)((q >> 4) << (2 * part));
                }
            }
        }
        return 1;
    }
    const long nb = k / 32;
    const int in_bytes = legacy_block_bytes(ggml_type);
    const int group_block = 8 * in_bytes;
    for (long b = 0; b < nb; b++) {
        const uint8_t *p = g + b * group_block;
        uint8_t *o = out + b * in_bytes;
        memcpy(o, p + 2 * r, 2);
        if (ggml_type == 8) {
            for (int s = 0; s < 8; s++)
                for (int i = 0; i < 4; i++) o[2 + 4 * s + i] = p[16 + 32 * s + 4 * r + i] ^ 0x80;
            continue;
        }
        int qs_at = 2, nib_at = 16;
        if (ggml_type == 3) { memcpy(o + 2, p + 16 + 2 * r, 2); qs_at = 4; nib_at = 32; }
        if (ggml_type == 6) {
            uint32_t qh = 0;
            for (int s = 0; s < 8; s++) {
                uint32_t high; memcpy(&high, p + 16 + 4 * s, 4);
                for (int i = 0; i < 4; i++) qh |= ((high >> (4 * r + i)) & 1u) << (4 * s + i);
            }
            memcpy(o + 2, &qh, 4);
            qs_at = 6; nib_at = 48;
        }
        // nib[32 g + 4 r + i]: low nibble element 4g + i, high nibble element 16 + 4g + i;
        // the block's byte j holds element j (low) and j + 16 (high).
        for (int gg = 0; gg < 4; gg++)
            for (int i = 0; i < 4; i++) o[qs_at + 4 * gg + i] = p[nib_at + 32 * gg + 4 * r + i];
    }
    return 1;
}
