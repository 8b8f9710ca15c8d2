// dwconv_u8s8 for AVX-512: up to 64 channels (4 zmm accumulators) per output pixel and pass.
// Packed weights: int32 [KH*KW][round_up(C, 16)] (each weight sign-extended to a dword, zero
// beyond C), then int32 wsum[round_up(C, 16)] = sum of the channel's weights over all taps.
// Exactness: x is zero-extended to a dword (high int16 = 0) and w is a sign-extended dword, so
// vpmaddwd gives x*w + 0*hi(w) = x*w exactly in int32. The contract's sum over the valid taps of
// (x - in_zp)*w equals sum(x*w) - in_zp*sum(w) modulo 2^32 (ring identity; all int32 arithmetic
// here wraps), so
//   * interior pixels (every tap inside the image): acc = (bias - in_zp*wsum) + sum x*w, with the
//     first term computed once per channel block;
//   * border pixels: acc = bias + sum over the valid taps of (x - in_zp)*w, formed in int32 and
//     multiplied with vpmulld (exact modulo 2^32; vpmaddwd would meet the non-zero high int16 of
//     a negative x - zp); padded taps are skipped (they contribute 0 by the contract).
// Epilogue: the reference's cvtdq2ps, mulps, maxps, minps, cvtps2dq (+ out_zp), in that order.
// Masked loads/stores for C tails (never touching x or y beyond C in a pixel).
// GCC 12 warns falsely inside the intrinsic headers (_mm512_undefined_*; GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define QRT_DW_NS avx512
#define QRT_DW_MADD_ADD(acc, x, w) _mm512_add_epi32(acc, _mm512_madd_epi16(x, w))
#include "kernels/x86/dwconv_u8s8_avx512_body.h"

namespace qrt::kernels {

extern const DwConvU8S8Kernel dwconv_u8s8_c64_avx512 = {"dwconv_u8s8_c64_avx512", cpu::Isa::kAvx512,
                                                        avx512::packed_size, avx512::pack,
                                                        avx512::run};

}  // namespace qrt::kernels
