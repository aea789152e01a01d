// Repacking of weight rows into the 8-row interleaved layouts of the VNNI kernels
// (x86_avx512vnni.c, "x8" kernels). Plain byte shuffling, no vector instructions needed.
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

long hearth_simd_repacked_group_bytes(int ggml_type, long k) {
    if (k % 32 != 0) return 0;
    switch (ggml_type) {
        case 2: return 8 * 18 * (k / 32);
        case 3: return 8 * 20 * (k / 32);
        case 6: return 8 * 22 * (k / 32);
        case 8: return 8 * 34 * (k / 32);
        default: return 0;
    }
}

int hearth_simd_repack(int ggml_type, const void *src, size_t src_stride, void *dst, long rows, long k) {
    const long group = hearth_simd_repacked_group_bytes(ggml_type, k);
    if (group == 0 || rows % 8 != 0) return 0;
    const long nb = k / 32;
    for (long g = 0; g < rows / 8; g++) {
        uint8_t *out = (uint8_t *)dst + g * group;
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk[8];
            for (int r = 0; r < 8; r++) {
                const long bytes = ggml_type == 2 ? 18 : ggml_type == 3 ? 20 : ggml_type == 6 ? 22 : 34;
                blk[r] = (const uint8_t *)src + (g * 8 + r) * src_stride + b * bytes;
            }
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
