// The AVX2 path (x86-64-v3: AVX2, FMA, F16C). The kernels are in matmul_body.h and x8_body.h.
#if defined(__x86_64__)
#include "HearthSIMD.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define HS_VNNI 0
#define HS_REPACKED_LOOKUP hearth_avx2_repacked_matmul
#define HS_LOOKUP hearth_avx2_matmul
#include "matmul_body.h"
#include "x8_body.h"
#pragma clang attribute pop
#endif
