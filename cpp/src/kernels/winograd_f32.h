// Float 3x3 stride-1 convolution by Winograd F(2x2, 3x3): 16 multiplications per 2x2 output tile
// and input channel instead of 36, the multiplications done by the fp32 GEMM family (gemm_f32.h)
// on transformed operands.
//
//   d = a 4x4 input tile (zero outside the image)          V = B^T d B   (per input channel)
//   g = a 3x3 filter (one output, one input channel)       U = G g G^T   (at load, in fp64,
//                                                                        rounded once)
//   M[p] = V[p] x U[p]   for each of the 16 positions p: a GEMM of (tiles x C) x (C x O)
//   Y = A^T M A + bias, clamped to [lo, hi]                 the 2x2 outputs of the tile
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1]
//
// Numerics. Not bit-exact against a direct convolution, and not across ISAs (the GEMM's own
// contract). Every transform is a fixed sequence of fp32 adds and subtracts (no FMA, the same order
// in every variant), so the transforms of all variants equal the reference's bit for bit; the
// GEMM then differs within its stated bound. With S = the sum over channels of
// |A^T| ((|G| |g| |G^T|) (.) (|B^T| |d| |B|)) |A| (the transforms taken in absolute values):
//   |y - y_exact| <= (C + 8) * 2^-23 * S + 2^-23 * |bias|
// S is a few times the direct convolution's sum of |x w| (each V entry sums 4 inputs, each U
// entry up to 9 weights / 4), so the error is a few times the direct path's; tests check the
// bound. U is always fp32, also for fp16 weights (their fp32 transform; fp16 U would double the
// fp16 models' error, measured 2.1e-4 -> 3.8e-4 relative on ResNet-18's layers): a model with fp16
// weights then gives the bits of the same model with those weights in fp32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"
#include "kernels/gemm_f32.h"

namespace qrt::kernels {

struct WinogradF32Params {
  const float* x;              // one image, NHWC: pixel (h, w) at x + (h * W + w) * C
  size_t H, W, C;
  size_t pad_top, pad_left;    // output (oy, ox) reads input rows oy - pad_top .. oy - pad_top + 2
  size_t OH, OW, O;
  const GemmF32Kernel* gemm;   // the fp32-weight GEMM the weights were packed for
  const void* packed;          // winograd_f32_pack(): 16 packed U matrices
  const float* bias;           // [O] or null
  float lo, hi;                // clamp of the result (-inf, +inf: none)
  float* y;                    // output pixel (oy, ox) at y + (oy * OW + ox) * ldy
  size_t ldy;                  // >= O
};

// Input and output transforms for one ISA (the GEMM is the selected gemm_f32 variant).
struct WinogradF32Kernel {
  const char* name;
  cpu::Isa isa;
  // v[p * ldv + c] = (B^T d B)[p] for c < C, p < 16, where d[i][j] is rows[i * 4 + j][c]
  // (each row pointer a pixel of C floats, or a zero pixel outside the image).
  void (*input)(const float* const* rows, size_t C, float* v, size_t ldv);
  // out[i * ldo_row + j * ldo_px + o] = clamp((A^T M A)[i][j] + bias[o]) for i < ni, j < nj
  // (1 or 2), o < O, where M[p] is m[p * ldm + o].
  void (*output)(const float* m, size_t ldm, size_t O, const float* bias, float lo, float hi,
                 float* out, size_t ldo_row, size_t ldo_px, size_t ni, size_t nj);
};

inline size_t winograd_f32_tiles(size_t OH, size_t OW) { return ((OH + 1) / 2) * ((OW + 1) / 2); }

// Bytes of the packed weights for `gemm` (16 GEMM-packed C x O matrices, each 64-byte aligned).
size_t winograd_f32_packed_size(const GemmF32Kernel& gemm, size_t O, size_t C);
// w: O x 3 x 3 x C fp32 weights (OHWI). U is computed in fp64, rounded once to fp32 and packed for
// `gemm`, a gemm_f32 variant with fp32 weights.
void winograd_f32_pack(const GemmF32Kernel& gemm, size_t O, size_t C, const float* w, void* packed);

// Tiles per band: run() transforms a band at once (V and M of a band stay in the work buffer).
size_t winograd_f32_band(size_t C, size_t O);
// Bytes of the work buffer run() needs for bands of winograd_f32_band(C, O) tiles.
size_t winograd_f32_work_size(size_t C, size_t O);
// Output tiles [t_begin, t_end) (tile t: rows 2 * (t / TX) + {0, 1}, columns 2 * (t % TX) +
// {0, 1}, TX = ceil(OW / 2); those inside OH x OW are written). Different tile ranges may run
// concurrently, each with its own work buffer (64-byte aligned, winograd_f32_work_size bytes).
void winograd_f32_run(const WinogradF32Kernel& k, const WinogradF32Params& p, size_t t_begin,
                      size_t t_end, void* work);

// Transform variants compiled in and runnable here, best first, the reference last (cap not
// applied), and the best one the QRT_ISA cap allows.
const std::vector<const WinogradF32Kernel*>& winograd_f32_variants();
const WinogradF32Kernel& select_winograd_f32();

}  // namespace qrt::kernels
