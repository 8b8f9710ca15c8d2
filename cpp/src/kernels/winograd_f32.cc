// fp32 Winograd F(2x2, 3x3): weight transform, bands of tiles, and variant selection
// (winograd_f32.h).
#include "kernels/winograd_f32.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/checks.h"

namespace qrt::kernels {

namespace ref {
extern const WinogradF32Kernel winograd_f32_f23_ref;
}
#if QRT_ENABLE_AVX2
namespace avx2 {
extern const WinogradF32Kernel winograd_f32_f23_avx2;
}
#endif

namespace {

size_t round64(size_t n) { return (n + 63) / 64 * 64; }

}  // namespace

size_t winograd_f32_packed_size(const GemmF32Kernel& gemm, size_t O, size_t C) {
  return 16 * round64(gemm.packed_size(O, C));
}

void winograd_f32_pack(const GemmF32Kernel& gemm, size_t O, size_t C, const float* w, void* packed) {
  QRT_CHECK(gemm.weight_dtype == format::DType::kF32);
  static constexpr double G[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  std::vector<float> u(16 * O * C);  // 16 row-major O x C matrices, each packed below
  for (size_t o = 0; o < O; ++o)
    for (size_t c = 0; c < C; ++c) {
      double g[3][3], t[4][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) g[i][j] = w[((o * 3 + i) * 3 + j) * C + c];
      for (int a = 0; a < 4; ++a)
        for (int j = 0; j < 3; ++j) t[a][j] = G[a][0] * g[0][j] + G[a][1] * g[1][j] + G[a][2] * g[2][j];
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b)
          u[(static_cast<size_t>(a * 4 + b) * O + o) * C + c] =
              static_cast<float>(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
    }
  const size_t stride = round64(gemm.packed_size(O, C));
  for (size_t p = 0; p < 16; ++p) gemm.pack(O, C, &u[p * O * C], C, static_cast<uint8_t*>(packed) + p * stride);
}

// Bands as large as 96 tiles while V and M (64 * band * (C + O) bytes) stay within 6 MB: every
// band reads all of U (64 * C * O bytes), and inside a network U comes from L3 or memory, not from
// the cache a layer benchmark warms. ResNet-18 fp32, 1 thread, per-layer profile summed over the
// three 14x14x256 layers: bands sized for L2 (V + M <= 384 KB: 12 tiles, U read 5 times per
// image) 9.6-9.9 ms; 1.5 MB (48) 6.4-6.5; 3 MB 5.4-5.8; all 49 tiles in one band 5.1-5.7
// (alternated twice, same process type; model 51-53 ms -> 39-48 ms). The 28x28x128 layers went
// 6.8-7.1 -> 5.4-5.9 ms; 56x56x64 (U 256 KB, L2-resident anyway) did not change beyond noise.
size_t winograd_f32_band(size_t C, size_t O) {
  const size_t b = (size_t{6} << 20) / (64 * (C + O));
  return std::max<size_t>(6, std::min<size_t>(96, b / 6 * 6));
}

// Floats between the 16 positions' matrices in the work buffer: a band's matrix rounded up to
// a cache line, plus one line. Without the extra line the strides were multiples of 4 KB (48 tiles
// x 64 channels x 4 bytes = 12 KB), so the 16 loads/stores of each transform step fell into one
// L1 set (8 ways): 56x56x64 input transform 420-462 us, with the extra line 197-215 us (and the
// output transform 224-299 -> 170-212 us; 1 thread, Zen 3).
size_t pos_stride(size_t band, size_t n) { return round64(band * n * sizeof(float)) / sizeof(float) + 16; }

size_t winograd_f32_work_size(size_t C, size_t O) {
  const size_t band = winograd_f32_band(C, O);
  return round64(16 * pos_stride(band, C) * sizeof(float)) + round64(16 * pos_stride(band, O) * sizeof(float)) +
         round64(C * sizeof(float));
}

void winograd_f32_run(const WinogradF32Kernel& k, const WinogradF32Params& p, size_t t_begin,
                      size_t t_end, void* work) {
  const size_t C = p.C, O = p.O, band = winograd_f32_band(C, O);
  const size_t ldv = pos_stride(band, C), ldm = pos_stride(band, O);
  float* V = static_cast<float*>(work);
  float* M = V + round64(16 * ldv * sizeof(float)) / sizeof(float);
  float* zero = M + round64(16 * ldm * sizeof(float)) / sizeof(float);
  std::memset(zero, 0, C * sizeof(float));
  const size_t TX = (p.OW + 1) / 2, stride = round64(p.gemm->packed_size(O, C));
  const float inf = std::numeric_limits<float>::infinity();
  // Equal bands (49 tiles in bands of at most 48: 25 + 24, not 48 + 1, which reads all of U twice).
  const size_t nbands = (t_end - t_begin + band - 1) / band;
  const size_t each = nbands ? (t_end - t_begin + nbands - 1) / nbands : 0;
  for (size_t b0 = t_begin; b0 < t_end; b0 += each) {
    const size_t nb = std::min(each, t_end - b0);
    for (size_t t = 0; t < nb; ++t) {
      const size_t oy = (b0 + t) / TX * 2, ox = (b0 + t) % TX * 2;
      const float* rows[16];
      for (size_t i = 0; i < 4; ++i) {
        // Unsigned wrap-around makes rows above / columns left of the image large, hence outside.
        const size_t ih = oy + i - p.pad_top;
        for (size_t j = 0; j < 4; ++j) {
          const size_t iw = ox + j - p.pad_left;
          rows[i * 4 + j] = ih < p.H && iw < p.W ? p.x + (ih * p.W + iw) * C : zero;
        }
      }
      k.input(rows, C, V + t * C, ldv);
    }
    for (size_t q = 0; q < 16; ++q)
      p.gemm->run(nb, O, C, V + q * ldv, C, static_cast<const uint8_t*>(p.packed) + q * stride,
                  nullptr, -inf, inf, M + q * ldm, O, 0, nb, 0, O);
    for (size_t t = 0; t < nb; ++t) {
      const size_t oy = (b0 + t) / TX * 2, ox = (b0 + t) % TX * 2;
      k.output(M + t * O, ldm, O, p.bias, p.lo, p.hi, p.y + (oy * p.OW + ox) * p.ldy,
               p.OW * p.ldy, p.ldy, std::min<size_t>(2, p.OH - oy), std::min<size_t>(2, p.OW - ox));
    }
  }
}

const std::vector<const WinogradF32Kernel*>& winograd_f32_variants() {
  static const std::vector<const WinogradF32Kernel*> list = [] {
    std::vector<const WinogradF32Kernel*> v;
#if QRT_ENABLE_AVX2
    if (cpu::isa_supported(avx2::winograd_f32_f23_avx2.isa) && cpu::isa_compiled(avx2::winograd_f32_f23_avx2.isa))
      v.push_back(&avx2::winograd_f32_f23_avx2);
#endif
    v.push_back(&ref::winograd_f32_f23_ref);
    return v;
  }();
  return list;
}

const WinogradF32Kernel& select_winograd_f32() {
  for (const WinogradF32Kernel* k : winograd_f32_variants())
    if (cpu::isa_enabled(k->isa)) return *k;
  return ref::winograd_f32_f23_ref;
}

}  // namespace qrt::kernels
