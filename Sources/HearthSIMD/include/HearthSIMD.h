// Hand-written vector kernels for the quantized matrix products, one set per instruction-set
// path. Swift calls them through HearthKernels' `KernelPath`; this header is their whole API.
#ifndef HEARTH_SIMD_H
#define HEARTH_SIMD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction-set paths. The portable path lives in Swift (HearthKernels) and has no
/// entry here.
enum {
    HEARTH_SIMD_AVX2 = 1,        ///< AVX2 + FMA + F16C (x86-64-v3)
    HEARTH_SIMD_AVX512VNNI = 2,  ///< AVX2 plus AVX-512 F/BW/VL/VNNI, used at 256-bit width
};

/// 1 when this CPU and operating system can run `path`, else 0.
int hearth_simd_supported(int path);

/// y[c * y_stride + r] = dot(row r of w, column c of x) for r < rows, c < cols.
/// Rows of w are `k` elements in the weight format, `w_stride` bytes apart; columns of x are
/// `k` elements in that format's ggml partner (q8_0, q8_1 or q8_K; f32 for the float formats), `x_stride` bytes apart.
typedef void (*hearth_matmul_fn)(const void *w, size_t w_stride, const void *x, size_t x_stride,
                                 float *y, size_t y_stride, long rows, long cols, long k);

/// The kernel of `path` for weights of ggml type `ggml_type`, or NULL when the path has none
/// (or the CPU cannot run it).
hearth_matmul_fn hearth_simd_matmul(int path, int ggml_type);

/// Bytes one group of 8 rows of `k` elements takes in the 8-row interleaved layout of
/// `ggml_type` (see repack.c), or 0 when the type has no such layout.
long hearth_simd_repacked_group_bytes(int ggml_type, long k);

/// Rewrites `rows` rows (a multiple of 8) of `k` elements, `src_stride` bytes apart, into the
/// interleaved layout at `dst`. Returns 0 (and writes nothing) when the type or shape has none.
int hearth_simd_repack(int ggml_type, const void *src, size_t src_stride, void *dst, long rows, long k);

/// Writes row `row` (0..7) of one interleaved group back in the type's ggml block layout: the
/// bytes `hearth_simd_repack` read. Returns 0 when the type has no interleaved layout.
int hearth_simd_unpack_row(int ggml_type, const void *group, long row, long k, void *dst);

/// The kernel of `path` that reads weights in the interleaved layout (w_stride: bytes per group
/// of 8 rows; rows a multiple of 8), or NULL.
hearth_matmul_fn hearth_simd_repacked_matmul(int path, int ggml_type);

/// Softmax attention of one query over `count` cached positions (x86 AVX2 + FMA; callers
/// check `hearth_simd_supported(HEARTH_SIMD_AVX2)`): out = sum_p softmax(scale q.k_p) v_p.
/// Keys and values are f16 rows `kv_stride` elements apart; head_dim a multiple of 8;
/// `scores` has room for `count` floats.
void hearth_attend_one(const float *q, const uint16_t *keys, const uint16_t *values, size_t kv_stride,
                       long count, long head_dim, float scale, float *scores, float *out);

/// Activation quantizers (x86 AVX2 + F16C; callers check `hearth_simd_supported`): `n` floats
/// (a multiple of 32, or of 256 for q8_K) into ggml's q8_0, q8_1 or q8_K blocks, byte for byte
/// what HearthKernels' reference quantizers write.
void hearth_quantize_q8_0(const float *x, void *dst, long n);
void hearth_quantize_q8_1(const float *x, void *dst, long n);
void hearth_quantize_q8_K(const float *x, void *dst, long n);
/// f32 to f16, round to nearest even (F16C), as the reference `floatToHalf`.
void hearth_quantize_f16(const float *x, void *dst, long n);

/// gate[i] = silu(gate[i]) * up[i] and gate[i] = gelu_tanh(gate[i]) * up[i] for i < n
/// (x86 AVX2 + FMA; callers check `hearth_simd_supported`).
void hearth_swiglu(float *gate, const float *up, long n);
void hearth_geglu(float *gate, const float *up, long n);

/// A hint to the CPU that the caller is spinning on a memory location (x86 PAUSE).
static inline void hearth_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

#ifdef __cplusplus
}
#endif
#endif
