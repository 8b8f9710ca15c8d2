// int8 3x3 stride-1 convolution by Winograd F(2x2, 3x3), exact (equal to the GEMM reference
// bit for bit).
//
// Where it is used: CPUs whose int8 GEMM has no VNNI (AVX2). There, an exact u8 x s8 product
// costs one vpmaddwd per 16 MACs (operands widened to int16; vpmaddubsw saturates), and F(2x2,
// 3x3) needs 16 products per 2x2 output tile instead of 36: 2.25x fewer vpmaddwd for the same
// result. With VNNI (vpdpbusd, 64 MACs per instruction on 512 bits) the int16 products would
// cost more than they save, so select_winograd_u8s8() returns null there.
//
// Arithmetic (all integer, so the result is exact):
//   d = the 4x4 input tile minus the input zero point        (|d| <= 255)
//   V = B^T d B,  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]        (|V| <= 1020, int16)
//   U = G' g G'^T, G' = [2 0 0; 1 1 1; 1 -1 1; 0 0 2] (twice the usual G, so U is integral;
//                                                     |U| <= 9 * 128 = 1152, int16)
//   M = sum over input channels of U (.) V                    (int32, vpmaddwd pairs)
//   Y = A^T M A,  A^T = [1 1 1 0; 0 1 -1 -1]  equals 4 x the 2x2 outputs' sums of (x - zp) * w
// int32 arithmetic wraps modulo 2^32 and only adds and multiplies, so Y is exact whenever the
// true value fits: |4 * 9 * C * 255 * 128| < 2^31 for C <= kWinogradMaxC. Y >> 2 (exact) is then
// the reference's accumulator before the bias, sum(x * w) - zp * colsum, and the same epilogue
// (gemm_u8s8.h) finishes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"
#include "kernels/gemm_u8s8.h"

namespace qrt::kernels {

inline constexpr size_t kWinogradMaxC = 1024;

struct WinogradU8S8Params {
  // One image's input, padded with x_zero_point so that output (oy, ox) reads rows oy..oy+2 and
  // pixels ox..ox+2: Hp >= OH + 2 rows of Wp >= OW + 2 pixels of C bytes. Tiles reaching past
  // the buffer (odd OH or OW) read those pixels as the zero point.
  const uint8_t* x;
  size_t Hp, Wp, C;
  int32_t x_zero_point;  // 0..255
  size_t OH, OW, O;      // output rows, columns, channels
  const void* packed;    // pack() of the weights
  const GemmU8S8Epilogue* ep;  // its a_zero_point is ignored (the transform subtracts x_zero_point)
  void* y;               // output pixel (oy, ox) at y + (oy * OW + ox) * ldy elements
  size_t ldy;            // elements between output pixels (>= O)
};

struct WinogradU8S8Kernel {
  const char* name;
  cpu::Isa isa;
  size_t (*packed_size)(size_t O, size_t C);
  // w: O x 3 x 3 x C (OHWI) s8 weights -> U in the kernel's layout (packed_size bytes, 64-byte
  // aligned).
  void (*pack)(size_t O, size_t C, const int8_t* w, void* packed);
  // Bytes of the work buffer run() needs (64-byte aligned).
  size_t (*work_size)(size_t C);
  // Tiles run() transforms at once (a band): each band reads all of the packed weights once, so
  // callers split the tiles into ranges of at most this many.
  size_t (*band_tiles)(size_t C);
  // Output tiles [t_begin, t_end) of TY x TX, TX = ceil(OW / 2): tile t covers output rows
  // 2 * (t / TX) + {0, 1} and columns 2 * (t % TX) + {0, 1} (those inside OH x OW are written).
  // Different tile ranges may run concurrently (each with its own work buffer).
  void (*run)(const WinogradU8S8Params& p, size_t t_begin, size_t t_end, void* work);
};

inline size_t winograd_tiles(size_t OH, size_t OW) { return ((OH + 1) / 2) * ((OW + 1) / 2); }

// Every variant compiled into this build and runnable on this CPU, best first (for tests; there is no scalar variant: the GEMM reference is the specification).
const std::vector<const WinogradU8S8Kernel*>& winograd_u8s8_variants();

// The Winograd variant for this CPU and QRT_ISA cap, or null: none compiled or runnable, or the
// selected int8 GEMM is one for which Winograd does not pay (VNNI; see above).
const WinogradU8S8Kernel* select_winograd_u8s8();

}  // namespace qrt::kernels
