// aarch64 Advanced SIMD (baseline armv8-a) fp32 GEMM kernels: fp32, fp16 (fcvtl) and bf16
// (shll #16) weights, fp32 accumulation; plus the unpacked A x B kernel for attention.
//
// Packed layout: panels of NR = 16 columns, k-major (for each k the 16 weights of the panel
// contiguously), tail panel zero-padded -- the AVX2 layout.
// Micro-kernel 4 x 16: 16 q-register accumulators, 4 A vectors (4 k of one row each, used by lane
// with fmla-by-element), 4 weight vectors = 24 of the 32 vector registers; 20 loads per 64 fmla.
// (6 x 16 needs 34 registers: GCC spilled accumulators inside the k loop.) KC = 256 blocks keep a
// panel block (16 KB fp32) in L1 across the M loop. M = 1 (GEMV, memory-bound) has 4 independent
// accumulators. N tails: packed weights are zero-padded, so only bias and C go through a 16-float
// stack tile; gemm_f32_nn reads full panels of B in place and copies a partial last panel into a
// zero-padded buffer (it never reads B past column N).
// The clamp is compare + select, so it matches the reference exactly (including -0 and NaN).
#include <arm_neon.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/gemm_f32.h"

namespace qrt::kernels::neon {
namespace {

// Complete unrolling of the register-tile loops before scalar replacement: without it GCC keeps
// the accumulator array in memory as well and stores every accumulator on each k step.
#define QRT_UNROLL _Pragma("GCC unroll 16")

constexpr size_t kKc = 256;
constexpr int kMr = 4, kNv = 4, kNr = 16;

struct WF32 {
  using T = float;
  static float32x4_t load(const float* p) { return vld1q_f32(p); }
};
struct WF16 {
  using T = uint16_t;
  static float32x4_t load(const uint16_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
  }
};
struct WBF16 {
  using T = uint16_t;
  static float32x4_t load(const uint16_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
  }
};

struct Epi {
  const float* bias;  // at the panel's first column, or null
  float fmin, fmax;
  float32x4_t vmin, vmax;
  size_t nrem;        // valid columns of this panel (1..16)
  bool first, last;
};

// r = fmin > r ? fmin : r;  r = fmax < r ? fmax : r   (gemm_f32.h), lane-wise.
inline float32x4_t clamp(float32x4_t x, float32x4_t vmin, float32x4_t vmax) {
  x = vbslq_f32(vcgtq_f32(vmin, x), vmin, x);
  return vbslq_f32(vcltq_f32(vmax, x), vmax, x);
}

// The accumulators come by value (no address of the accumulator array escapes).
inline void store_tile_row(float32x4_t a0, float32x4_t a1, float32x4_t a2, float32x4_t a3,
                           float* c, const Epi& e) {
  if (e.nrem == static_cast<size_t>(kNr)) {
    const float32x4_t acc[kNv] = {a0, a1, a2, a3};
    QRT_UNROLL
    for (int v = 0; v < kNv; ++v) {
      float32x4_t x = acc[v];
      if (e.first) {
        if (e.bias) x = vaddq_f32(x, vld1q_f32(e.bias + 4 * v));
      } else {
        x = vaddq_f32(x, vld1q_f32(c + 4 * v));
      }
      if (e.last) x = clamp(x, e.vmin, e.vmax);
      vst1q_f32(c + 4 * v, x);
    }
    return;
  }
  float t[kNr];
  vst1q_f32(t, a0);
  vst1q_f32(t + 4, a1);
  vst1q_f32(t + 8, a2);
  vst1q_f32(t + 12, a3);
  for (size_t j = 0; j < e.nrem; ++j) {
    float x = t[j];
    if (e.first) {
      if (e.bias) x += e.bias[j];
    } else {
      x += c[j];
    }
    if (e.last) {
      x = e.fmin > x ? e.fmin : x;
      x = e.fmax < x ? e.fmax : x;
    }
    c[j] = x;
  }
}

// One k step of the MR x 16 tile with the A values in lane L of av[m].
template <class W, int MR, int L>
inline void kstep(float32x4_t (&acc)[MR][kNv], const float32x4_t (&av)[MR],
                  const typename W::T* b) {
  float32x4_t bv[kNv];
  QRT_UNROLL
  for (int v = 0; v < kNv; ++v) bv[v] = W::load(b + 4 * v);
  QRT_UNROLL
  for (int m = 0; m < MR; ++m)
    QRT_UNROLL
    for (int v = 0; v < kNv; ++v) acc[m][v] = vfmaq_laneq_f32(acc[m][v], bv[v], av[m], L);
}

// MR x 16 tile over kc steps; weights k stride ldbk (kNr when packed, ldb for an unpacked B).
template <class W, int MR>
inline void ukernel(size_t kc, const float* a, size_t lda, const typename W::T* b, size_t ldbk,
                    float* c, size_t ldc, const Epi& e) {
  float32x4_t acc[MR][kNv];
  QRT_UNROLL
  for (int m = 0; m < MR; ++m)
    QRT_UNROLL
    for (int v = 0; v < kNv; ++v) acc[m][v] = vdupq_n_f32(0.f);
  size_t k = 0;
  for (; k + 4 <= kc; k += 4, b += 4 * ldbk) {
    float32x4_t av[MR];
    QRT_UNROLL
    for (int m = 0; m < MR; ++m) av[m] = vld1q_f32(a + m * lda + k);
    kstep<W, MR, 0>(acc, av, b);
    kstep<W, MR, 1>(acc, av, b + ldbk);
    kstep<W, MR, 2>(acc, av, b + 2 * ldbk);
    kstep<W, MR, 3>(acc, av, b + 3 * ldbk);
  }
  for (; k < kc; ++k, b += ldbk) {
    float32x4_t av[MR];
    QRT_UNROLL
    for (int m = 0; m < MR; ++m) av[m] = vld1q_dup_f32(a + m * lda + k);
    kstep<W, MR, 0>(acc, av, b);
  }
  QRT_UNROLL
  for (int m = 0; m < MR; ++m)
    store_tile_row(acc[m][0], acc[m][1], acc[m][2], acc[m][3], c + m * ldc, e);
}

template <class W>
void row_tail(size_t r, size_t kc, const float* a, size_t lda, const typename W::T* b,
              size_t ldbk, float* c, size_t ldc, const Epi& e) {
  switch (r) {
    case 3: ukernel<W, 3>(kc, a, lda, b, ldbk, c, ldc, e); break;
    case 2: ukernel<W, 2>(kc, a, lda, b, ldbk, c, ldc, e); break;
    case 1: ukernel<W, 1>(kc, a, lda, b, ldbk, c, ldc, e); break;
    default: break;
  }
}

// One panel of 16 columns (weights k stride ldbk) over rows [m_begin, m_end).
template <class W>
void drive_panel(size_t K, const float* A, size_t lda, const typename W::T* panel, size_t ldbk,
                 float* C, size_t ldc, size_t m_begin, size_t m_end, Epi& e) {
  size_t k0 = 0;
  do {
    size_t kc = K - k0 < kKc ? K - k0 : kKc;
    e.first = k0 == 0;
    e.last = k0 + kc >= K;
    const typename W::T* bp = panel + k0 * ldbk;
    size_t m0 = m_begin;
    for (; m0 + kMr <= m_end; m0 += kMr)
      ukernel<W, kMr>(kc, A + m0 * lda + k0, lda, bp, ldbk, C + m0 * ldc, ldc, e);
    if (m0 < m_end)
      row_tail<W>(m_end - m0, kc, A + m0 * lda + k0, lda, bp, ldbk, C + m0 * ldc, ldc, e);
    k0 += kc;
  } while (k0 < K);
}

Epi make_epi(float fmin, float fmax) {
  Epi e;
  e.bias = nullptr;
  e.fmin = fmin;
  e.fmax = fmax;
  e.vmin = vdupq_n_f32(fmin);
  e.vmax = vdupq_n_f32(fmax);
  e.nrem = kNr;
  e.first = e.last = true;
  return e;
}

template <class W>
size_t packed_size(size_t N, size_t K) {
  return (N + kNr - 1) / kNr * kNr * K * sizeof(typename W::T);
}

template <class W>
void pack(size_t N, size_t K, const void* Wv, size_t ldb, void* packed) {
  using T = typename W::T;
  const T* w = static_cast<const T*>(Wv);
  T* out = static_cast<T*>(packed);
  for (size_t n0 = 0; n0 < N; n0 += kNr, out += kNr * K) {
    size_t nr = N - n0 < kNr ? N - n0 : kNr;
    for (size_t k = 0; k < K; ++k) {
      for (size_t j = 0; j < nr; ++j) out[k * kNr + j] = w[(n0 + j) * ldb + k];
      for (size_t j = nr; j < kNr; ++j) out[k * kNr + j] = T(0);
    }
  }
}

template <class W>
void run(size_t M, size_t N, size_t K, const float* A, size_t lda, const void* packed,
         const float* bias, float fmin, float fmax, float* C, size_t ldc, size_t m_begin,
         size_t m_end, size_t n_begin, size_t n_end) {
  const typename W::T* base = static_cast<const typename W::T*>(packed);
  Epi e = make_epi(fmin, fmax);
  for (size_t n0 = n_begin; n0 < n_end; n0 += kNr) {
    e.nrem = n_end - n0 < kNr ? n_end - n0 : kNr;
    e.bias = bias ? bias + n0 : nullptr;
    drive_panel<W>(K, A, lda, base + (n0 / kNr) * kNr * K, kNr, C + n0, ldc, m_begin, m_end, e);
  }
}

}  // namespace

#undef QRT_UNROLL

extern const GemmF32Kernel gemm_f32f32_4x16_neon = {
    "gemm_f32f32_4x16_neon", cpu::Isa::kNeon, format::DType::kF32, kMr, kNr,
    packed_size<WF32>, pack<WF32>, run<WF32>};
extern const GemmF32Kernel gemm_f32f16_4x16_neon = {
    "gemm_f32f16_4x16_neon", cpu::Isa::kNeon, format::DType::kF16, kMr, kNr,
    packed_size<WF16>, pack<WF16>, run<WF16>};
extern const GemmF32Kernel gemm_f32bf16_4x16_neon = {
    "gemm_f32bf16_4x16_neon", cpu::Isa::kNeon, format::DType::kBF16, kMr, kNr,
    packed_size<WBF16>, pack<WBF16>, run<WBF16>};

void gemm_f32_nn_neon(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
                      size_t ldb, float* C, size_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (size_t m = 0; m < M; ++m) std::memset(C + m * ldc, 0, N * sizeof(float));
    return;
  }
  Epi e = make_epi(-INFINITY, INFINITY);
  size_t n0 = 0;
  for (; n0 + kNr <= N; n0 += kNr) {
    e.nrem = kNr;
    drive_panel<WF32>(K, A, lda, B + n0, ldb, C + n0, ldc, 0, M, e);  // B read in place
  }
  if (n0 < N) {
    size_t nr = N - n0;
    std::vector<float> panel(K * kNr, 0.f);
    for (size_t k = 0; k < K; ++k)
      std::memcpy(&panel[k * kNr], B + k * ldb + n0, nr * sizeof(float));
    e.nrem = nr;
    drive_panel<WF32>(K, A, lda, panel.data(), kNr, C + n0, ldc, 0, M, e);
  }
}
extern const GemmF32NNKernel gemm_f32_nn_neon_kernel = {"gemm_f32_nn_4x16_neon", cpu::Isa::kNeon,
                                                        gemm_f32_nn_neon};

}  // namespace qrt::kernels::neon
