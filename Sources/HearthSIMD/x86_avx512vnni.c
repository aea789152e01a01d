// The AVX-512 VNNI path: AVX2 code shape with the VNNI dot products and AVX-512BW byte masks,
// at 256-bit width (AVX-512VL). The kernels are in matmul_body.h.
#if defined(__x86_64__)
#include "HearthSIMD.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define HS_VNNI 1
#define HS_REPACKED_LOOKUP hearth_avx512vnni_repacked_matmul
#define HS_LOOKUP hearth_avx512vnni_matmul
#include "matmul_body.h"
#include "x8_body.h"
#pragma clang attribute pop
#endif
