// winograd_u8s8 F(2x2, 3x3) for AVX2 (see winograd_u8s8.h for the arithmetic and when it pays).
//
// Layouts. Channels are padded to Cp = round_up(C, 16) (one ymm of int16 per 16 channels).
//   U (packed weights), per panel of 8 output channels, per position xi = 4i + j of the 4x4
//   tile, per group of 4 input channels: 64 bytes = 8 columns x 4 channels of int16, columns
//   0-3 then 4-7 (the widened c4 layout of the AVX2 GEMM), zero beyond O and C.
//   V (work buffer): for a band of up to band_tiles(C) tiles, V[xi][tile][Cp] int16.
// The 16 products of a tile block are the AVX2 GEMM's k-loop on int16 B: per 4 channels, 2 B
// loads, one 64-bit A broadcast per row, 2 vpmaddwd per row; 6 rows x 8 columns in ymm0-11.
// The 16 accumulator sets (6 KB) stay in L1, and the output transform and the epilogue run on
// them at once; a band's V (<= 256 KB) stays in L2 while the panels of U stream.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/winograd_u8s8.h"
#include "kernels/x86/gemm_u8s8_epilogue_avx2.h"

namespace qrt::kernels {
namespace {

constexpr size_t kMr = 6;

size_t cpad(size_t C) { return (C + 15) / 16 * 16; }

size_t packed_size(size_t O, size_t C) { return (O + 7) / 8 * 16 * (cpad(C) / 4) * 64; }

// Tiles per band: a band's V (16 x tiles x Cp int16) within 256 KB, so that it stays in L2 while
// all of U streams past it once per band; whole blocks of 6, at most 96. (Bands of a fixed 24
// tiles read a 14x14x256 layer's 2 MB of U three times per image.)
size_t band_tiles(size_t C) {
  const size_t t = (size_t{256} << 10) / (32 * cpad(C)) / kMr * kMr;
  return t < kMr ? kMr : (t > 96 ? 96 : t);
}

// int16 elements between the 16 positions' V matrices of a band of nt tiles: one cache line more
// than the matrix, so that the transform's 16 stores per step do not share one L1 set (nt * Cp * 2
// bytes is a multiple of 4 KB for full bands: 96 x 64, 64 x 128, 32 x 256 channels).
size_t pos_stride(size_t nt, size_t Cp) { return nt * Cp + 32; }

size_t work_size(size_t C) { return 16 * pos_stride(band_tiles(C), cpad(C)) * 2; }

// U = G' g G'^T per output channel, computed over all input channels at once (rows of C int16
// that the compiler vectorizes; per element with a gather it took 22 ms of ResNet-18's load), then
// gathered 4 channels (8 bytes) at a time into the panel layout.
void pack(size_t O, size_t C, const int8_t* w, void* packed) {
  const size_t Cp = cpad(C), G = Cp / 4;
  auto* u = static_cast<int16_t*>(packed);
  // v[jj][xi][Cp] for the 8 output channels of one panel, channels past C (and outputs past O)
  // zero; then each 64-byte group line of U is written once, whole, in order: 8 columns x 4
  // channels. (Scattering 8 bytes per column into a memset U touched every line 8 times.)
  std::vector<int16_t> t(12 * C), v(8 * 16 * Cp);
  for (size_t p0 = 0; p0 < O; p0 += 8) {
    std::fill(v.begin(), v.end(), int16_t{0});
    for (size_t jj = 0; jj < 8 && p0 + jj < O; ++jj) {
      const int8_t* g = w + (p0 + jj) * 9 * C;  // g[a * 3 + b][c]
      for (size_t b = 0; b < 3; ++b) {  // t[i][b] = sum_a G'[i][a] g[a][b]
        const int8_t *g0 = g + b * C, *g1 = g + (3 + b) * C, *g2 = g + (6 + b) * C;
        int16_t *t0 = &t[(0 * 3 + b) * C], *t1 = &t[(1 * 3 + b) * C], *t2 = &t[(2 * 3 + b) * C],
                *t3 = &t[(3 * 3 + b) * C];
        for (size_t c = 0; c < C; ++c) {
          const int16_t a0 = g0[c], a1 = g1[c], a2 = g2[c];
          t0[c] = static_cast<int16_t>(2 * a0);
          t1[c] = static_cast<int16_t>(a0 + a1 + a2);
          t2[c] = static_cast<int16_t>(a0 - a1 + a2);
          t3[c] = static_cast<int16_t>(2 * a2);
        }
      }
      int16_t* vj = &v[jj * 16 * Cp];
      for (size_t i = 0; i < 4; ++i) {  // v[4i + j] = sum_b t[i][b] G'[j][b]
        const int16_t *s0 = &t[(i * 3 + 0) * C], *s1 = &t[(i * 3 + 1) * C], *s2 = &t[(i * 3 + 2) * C];
        int16_t *v0 = vj + (4 * i + 0) * Cp, *v1 = vj + (4 * i + 1) * Cp, *v2 = vj + (4 * i + 2) * Cp,
                *v3 = vj + (4 * i + 3) * Cp;
        for (size_t c = 0; c < C; ++c) {
          v0[c] = static_cast<int16_t>(2 * s0[c]);
          v1[c] = static_cast<int16_t>(s0[c] + s1[c] + s2[c]);
          v2[c] = static_cast<int16_t>(s0[c] - s1[c] + s2[c]);
          v3[c] = static_cast<int16_t>(2 * s2[c]);
        }
      }
    }
    int16_t* dst = u + (p0 / 8) * 16 * G * 32;
    for (size_t xi = 0; xi < 16; ++xi)
      for (size_t g4 = 0; g4 < G; ++g4, dst += 32)
        for (size_t jj = 0; jj < 8; ++jj) std::memcpy(dst + 4 * jj, &v[(jj * 16 + xi) * Cp + 4 * g4], 8);
  }
}

// V for tiles [t0, t0 + nt): 16 positions (pos_stride apart) x nt tiles x Cp channels.
void transform_input(const WinogradU8S8Params& p, size_t TX, size_t t0, size_t nt, int16_t* V) {
  const size_t C = p.C, Cp = cpad(C), pitch = p.Wp * C;
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(p.x_zero_point));
  for (size_t k = 0; k < nt; ++k) {
    const size_t ty = (t0 + k) / TX, tx = (t0 + k) % TX;
    const uint8_t* px[4][4];  // null: past the buffer (the zero point: d = 0)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const size_t iy = 2 * ty + i, ix = 2 * tx + j;
        px[i][j] = iy < p.Hp && ix < p.Wp ? p.x + iy * pitch + ix * C : nullptr;
      }
    for (size_t c = 0; c < Cp; c += 16) {
      __m256i d[4][4];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          if (!px[i][j]) {
            d[i][j] = _mm256_setzero_si256();
            continue;
          }
          __m128i b;
          if (c + 16 <= C) {
            b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(px[i][j] + c));
          } else {  // channel tail: lanes past C meet zero weights, any finite value will do
            alignas(16) uint8_t t[16] = {};
            std::memcpy(t, px[i][j] + c, C - c);
            b = _mm_load_si128(reinterpret_cast<const __m128i*>(t));
          }
          d[i][j] = _mm256_sub_epi16(_mm256_cvtepu8_epi16(b), zp);
        }
      __m256i t[4][4];
      for (int j = 0; j < 4; ++j) {
        t[0][j] = _mm256_sub_epi16(d[0][j], d[2][j]);
        t[1][j] = _mm256_add_epi16(d[1][j], d[2][j]);
        t[2][j] = _mm256_sub_epi16(d[2][j], d[1][j]);
        t[3][j] = _mm256_sub_epi16(d[1][j], d[3][j]);
      }
      for (int i = 0; i < 4; ++i) {
        const __m256i v[4] = {_mm256_sub_epi16(t[i][0], t[i][2]), _mm256_add_epi16(t[i][1], t[i][2]),
                              _mm256_sub_epi16(t[i][2], t[i][1]), _mm256_sub_epi16(t[i][1], t[i][3])};
        for (int j = 0; j < 4; ++j)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(V + (i * 4 + j) * pos_stride(nt, Cp) + k * Cp + c), v[j]);
      }
    }
  }
}

// MR (1-6) rows of V (row stride lda bytes) x one panel position of U over ng groups of 4
// channels, into c[r][0..1] (cols 0-3 and 4-7 as vpmaddwd pairs). Inline asm for the same reason
// as the AVX2 GEMM's k-loop: with intrinsics GCC spills accumulators.
template <int MR>
__attribute__((always_inline)) inline void kloop(const int16_t* b, const int16_t* a, size_t lda, size_t ng,
                                                 __m256i (&c)[6][2]) {
  const int16_t* a3 = MR > 3 ? reinterpret_cast<const int16_t*>(reinterpret_cast<const char*>(a) + 3 * lda) : a;
  __asm__ volatile(
      "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
      "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
      "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
      "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
      "vpxor %%xmm10, %%xmm10, %%xmm10\n\t"
      "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
      "test %[ng], %[ng]\n\t"
      "jz 2f\n\t"
      ".p2align 5\n\t"
      "1:\n\t"
      "vmovdqu (%[b]), %%ymm12\n\t"
      "vmovdqu 32(%[b]), %%ymm13\n\t"
      "vbroadcastsd (%[a]), %%ymm14\n\t"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm0, %%ymm0\n\t"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm1, %%ymm1\n\t"
      ".if %c[mr] > 1\n\t"
      "vbroadcastsd (%[a],%[lda]), %%ymm14\n\t"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm2, %%ymm2\n\t"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm3, %%ymm3\n\t"
      ".endif\n\t"
      ".if %c[mr] > 2\n\t"
      "vbroadcastsd (%[a],%[lda],2), %%ymm14\n\t"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm4, %%ymm4\n\t"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm5, %%ymm5\n\t"
      ".endif\n\t"
      ".if %c[mr] > 3\n\t"
      "vbroadcastsd (%[a3]), %%ymm14\n\t"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm6, %%ymm6\n\t"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm7, %%ymm7\n\t"
      ".endif\n\t"
      ".if %c[mr] > 4\n\t"
      "vbroadcastsd (%[a3],%[lda]), %%ymm14\n\t"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm8, %%ymm8\n\t"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm9, %%ymm9\n\t"
      ".endif\n\t"
      ".if %c[mr] > 5\n\t"
      "vbroadcastsd (%[a3],%[lda],2), %%ymm14\n\t"
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\tvpaddd %%ymm15, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\tvpaddd %%ymm14, %%ymm11, %%ymm11\n\t"
      ".endif\n\t"
      "add $64, %[b]\n\t"
      "add $8, %[a]\n\t"
      "add $8, %[a3]\n\t"
      "dec %[ng]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "vmovdqa %%ymm0, 0(%[c])\n\t"
      "vmovdqa %%ymm1, 32(%[c])\n\t"
      "vmovdqa %%ymm2, 64(%[c])\n\t"
      "vmovdqa %%ymm3, 96(%[c])\n\t"
      "vmovdqa %%ymm4, 128(%[c])\n\t"
      "vmovdqa %%ymm5, 160(%[c])\n\t"
      "vmovdqa %%ymm6, 192(%[c])\n\t"
      "vmovdqa %%ymm7, 224(%[c])\n\t"
      "vmovdqa %%ymm8, 256(%[c])\n\t"
      "vmovdqa %%ymm9, 288(%[c])\n\t"
      "vmovdqa %%ymm10, 320(%[c])\n\t"
      "vmovdqa %%ymm11, 352(%[c])\n\t"
      : [b] "+r"(b), [a] "+r"(a), [a3] "+r"(a3), [ng] "+r"(ng)
      : [c] "r"(&c[0][0]), [lda] "r"(lda), [mr] "i"(MR)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

// Tiles [k0, k0 + MR) of the band (first tile t0) x panel pn: 16 products, then the output
// transform and the epilogue.
template <int MR>
void block(const WinogradU8S8Params& p, size_t TX, size_t t0, size_t nt, size_t k0, size_t pn,
           const int16_t* V, const EpiConst8& e, const ColVec8& cv) {
  const size_t Cp = cpad(p.C), G = Cp / 4;
  alignas(32) __m256i acc[16][6][2];
  const int16_t* u = static_cast<const int16_t*>(p.packed) + pn * 16 * G * 32;
  for (size_t xi = 0; xi < 16; ++xi)
    kloop<MR>(u + xi * G * 32, V + xi * pos_stride(nt, Cp) + k0 * Cp, Cp * 2, G, acc[xi]);
  const size_t esz = e.requant ? 1 : 4, n = pn * 8;
  for (int r = 0; r < MR; ++r) {
    __m256i m[16];
    for (int xi = 0; xi < 16; ++xi) m[xi] = fold4(acc[xi][r][0], acc[xi][r][1]);
    __m256i s[2][4];
    for (int j = 0; j < 4; ++j) {
      s[0][j] = _mm256_add_epi32(_mm256_add_epi32(m[j], m[4 + j]), m[8 + j]);
      s[1][j] = _mm256_sub_epi32(_mm256_sub_epi32(m[4 + j], m[8 + j]), m[12 + j]);
    }
    const size_t t = t0 + k0 + static_cast<size_t>(r), ty = t / TX, tx = t % TX;
    for (int a = 0; a < 2; ++a) {
      const size_t oy = 2 * ty + static_cast<size_t>(a);
      if (oy >= p.OH) break;
      const __m256i y0 = _mm256_add_epi32(_mm256_add_epi32(s[a][0], s[a][1]), s[a][2]);
      const __m256i y1 = _mm256_sub_epi32(_mm256_sub_epi32(s[a][1], s[a][2]), s[a][3]);
      uint8_t* row = static_cast<uint8_t*>(p.y) + (oy * p.OW + 2 * tx) * p.ldy * esz;
      store_row8(e, cv, _mm256_srai_epi32(y0, 2), row, n);
      if (2 * tx + 1 < p.OW) store_row8(e, cv, _mm256_srai_epi32(y1, 2), row + p.ldy * esz, n);
    }
  }
}

void run(const WinogradU8S8Params& p, size_t t_begin, size_t t_end, void* work) {
  const size_t TX = (p.OW + 1) / 2;
  auto* V = static_cast<int16_t*>(work);
  GemmU8S8Epilogue ep = *p.ep;
  ep.a_zero_point = 0;  // subtracted by the input transform
  const EpiConst8 e = epi_const8(ep);
  alignas(32) static const int32_t zero8[8] = {};
  const size_t band = band_tiles(p.C);
  for (size_t t0 = t_begin; t0 < t_end; t0 += band) {
    const size_t nt = t_end - t0 < band ? t_end - t0 : band;
    transform_input(p, TX, t0, nt, V);
    const size_t nb = (nt + kMr - 1) / kMr, base = nt / nb, extra = nt % nb;
    for (size_t pn = 0; pn * 8 < p.O; ++pn) {
      const ColVec8 cv = col_vec8(ep, zero8, pn * 8, p.O);
      size_t k0 = 0;
      for (size_t i = 0; i < nb; ++i) {
        const size_t r = base + (i < extra ? 1 : 0);
        switch (r) {
          case 1: block<1>(p, TX, t0, nt, k0, pn, V, e, cv); break;
          case 2: block<2>(p, TX, t0, nt, k0, pn, V, e, cv); break;
          case 3: block<3>(p, TX, t0, nt, k0, pn, V, e, cv); break;
          case 4: block<4>(p, TX, t0, nt, k0, pn, V, e, cv); break;
          case 5: block<5>(p, TX, t0, nt, k0, pn, V, e, cv); break;
          default: block<6>(p, TX, t0, nt, k0, pn, V, e, cv); break;
        }
        k0 += r;
      }
    }
  }
}

}  // namespace

extern const WinogradU8S8Kernel winograd_u8s8_f23_avx2 = {
    "winograd_u8s8_f23_avx2", cpu::Isa::kAvx2, packed_size, pack, work_size, band_tiles, run};

}  // namespace qrt::kernels
