// Which paths this CPU can run, from CPUID and the register state the OS saves (XGETBV).
// AMX is never used: it is advertised on some virtual machines that fault on it.
#include "HearthSIMD.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdint.h>

hearth_matmul_fn hearth_avx2_matmul(int type);
hearth_matmul_fn hearth_avx512vnni_matmul(int type);
hearth_matmul_fn hearth_avx512vnni_repacked_matmul(int type);
hearth_matmul_fn hearth_avx2_repacked_matmul(int type);

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int hearth_simd_supported(int path) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return 0;
    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;                      // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int avx2 = (b >> 5) & 1;
    if (path == HEARTH_SIMD_AVX2) return avx2;
    if (path == HEARTH_SIMD_AVX512VNNI) {
        const int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
        const int zmm_state = (xcr0 & 0xe0) == 0xe0;         // opmask and ZMM state
        return avx2 && f && bw && vl && vnni && zmm_state;
    }
    return 0;
}

typedef hearth_matmul_fn (*kernel_lookup)(int type);

/// The kernel `avx2` or `vnni` (one lookup per path) has for the type, if the CPU runs `path`.
static hearth_matmul_fn on_path(int path, int ggml_type, kernel_lookup avx2, kernel_lookup vnni) {
    if (!hearth_simd_supported(path)) return 0;
    switch (path) {
        case HEARTH_SIMD_AVX2: return avx2(ggml_type);
        case HEARTH_SIMD_AVX512VNNI: return vnni(ggml_type);
        default: return 0;
    }
}

hearth_matmul_fn hearth_simd_matmul(int path, int ggml_type) {
    return on_path(path, ggml_type, hearth_avx2_matmul, hearth_avx512vnni_matmul);
}

hearth_matmul_fn hearth_simd_repacked_matmul(int path, int ggml_type) {
    return on_path(path, ggml_type, hearth_avx2_repacked_matmul, hearth_avx512vnni_repacked_matmul);
}

#else
void hearth_attend_one(const float *q, const uint16_t *keys, const uint16_t *values, size_t kv_stride,
                       long count, long head_dim, float scale, float *scores, float *out) {
    (void)q; (void)keys; (void)values; (void)kv_stride; (void)count; (void)head_dim; (void)scale;
    (void)scores; (void)out;
    __builtin_trap(); // only reachable through an x86 path, which this build has none of
}
void hearth_swiglu(float *gate, const float *up, long n) { (void)gate; (void)up; (void)n; __builtin_trap(); }
void hearth_geglu(float *gate, const float *up, long n) { (void)gate; (void)up; (void)n; __builtin_trap(); }
void hearth_quantize_q8_0(const float *x, void *dst, long n) { (void)x; (void)dst; (void)n; __builtin_trap(); }
void hearth_quantize_q8_1(const float *x, void *dst, long n) { (void)x; (void)dst; (void)n; __builtin_trap(); }
void hearth_quantize_q8_K(const float *x, void *dst, long n) { (void)x; (void)dst; (void)n; __builtin_trap(); }
void hearth_quantize_f16(const float *x, void *dst, long n) { (void)x; (void)dst; (void)n; __builtin_trap(); }
hearth_matmul_fn hearth_simd_repacked_matmul(int path, int ggml_type) { (void)path; (void)ggml_type; return 0; }
int hearth_simd_supported(int path) { (void)path; return 0; }
hearth_matmul_fn hearth_simd_matmul(int path, int ggml_type) { (void)path; (void)ggml_type; return 0; }
#endif
