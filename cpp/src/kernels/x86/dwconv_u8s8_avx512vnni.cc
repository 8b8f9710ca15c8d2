// dwconv_u8s8 for AVX-512 VNNI: the AVX-512 kernel (dwconv_u8s8_avx512.cc, same packed layout
// and exactness argument) with vpmaddwd + vpaddd fused into vpdpwssd for the interior taps:
// dword += x.lo*w.lo + x.hi*w.hi with x.hi = 0, no saturation (vpdpwssds would saturate), so the
// int32 result is the same modulo 2^32. One vector uop less per tap and 16 channels.
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define QRT_DW_NS avx512vnni
#define QRT_DW_MADD_ADD(acc, x, w) _mm512_dpwssd_epi32(acc, x, w)
#include "kernels/x86/dwconv_u8s8_avx512_body.h"

namespace qrt::kernels {

extern const DwConvU8S8Kernel dwconv_u8s8_c64_avx512vnni = {
    "dwconv_u8s8_c64_avx512vnni", cpu::Isa::kAvx512Vnni, avx512vnni::packed_size, avx512vnni::pack,
    avx512vnni::run};

}  // namespace qrt::kernels
