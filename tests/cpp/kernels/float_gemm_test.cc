// Tests of the fp32 GEMM family (gemm_f32.h): every runnable variant against an fp64 oracle
// computed here from the exactly widened weights, with the tolerance stated in gemm_f32.h:
//   |C - C_ref| <= (K + 2) * 2^-23 * S   (+ 2^-8 * S for variants that round A to bf16),
//   S = sum_k |A[m][k] W[n][k]| + |bias[n]|.
// Hygiene: A/W padding (columns K..ld) and A rows outside the tile hold NaN, so any read outside
// the contract poisons the result; the last A row / W row ends the allocation exactly; C is
// sentinel-filled and every element outside the computed tile must keep its bits.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "harness.h"
#include "kernels/gemm_f32.h"

using namespace qrt;
using namespace qrt::kernels;

namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint32_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<uint32_t>(s >> 16);
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * (next() & 0xffffff) / 16777216.0f; }
};

constexpr uint32_t kSentinelBits = 0x7f8badc0;  // a signalling-NaN pattern nobody computes

struct AlignedBuf {
  void* p;
  explicit AlignedBuf(size_t bytes) : p(std::aligned_alloc(64, (bytes + 127) / 64 * 64)) {}
  ~AlignedBuf() { std::free(p); }
};

const char* dtype_str(format::DType t) {
  return t == format::DType::kF32 ? "f32" : t == format::DType::kF16 ? "f16" : "bf16";
}

struct Weights {
  std::vector<uint8_t> bytes;   // N rows of ldb elements in the dtype; padding = NaN
  std::vector<double> value;    // N x K exact widened values
};

Weights make_weights(format::DType dt, size_t N, size_t K, size_t ldb, Rng& rng) {
  Weights w;
  size_t esz = dt == format::DType::kF32 ? 4 : 2;
  size_t elems = N ? (N - 1) * ldb + K : 0;  // the last row ends the allocation
  w.bytes.assign(elems * esz + 1, 0);
  w.value.assign(N * K, 0.0);
  for (size_t n = 0; n < N; ++n)
    for (size_t k = 0; k < ldb; ++k) {
      size_t idx = n * ldb + k;
      if (idx >= elems) break;
      bool pad = k >= K;
      float f = rng.uniform(-1.f, 1.f);
      if (dt == format::DType::kF32) {
        float v = pad ? NAN : f;
        std::memcpy(&w.bytes[idx * 4], &v, 4);
        if (!pad) w.value[n * K + k] = v;
      } else {
        uint16_t h = dt == format::DType::kF16 ? (pad ? 0x7e00 : f32_to_f16(f))
                                               : (pad ? 0x7fc0 : f32_to_bf16(f));
        std::memcpy(&w.bytes[idx * 2], &h, 2);
        if (!pad) w.value[n * K + k] = dt == format::DType::kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
    }
  return w;
}

struct Tile {
  size_t m0, m1, n0, n1;
};

struct GemmCase {
  size_t M, N, K, lda_pad = 0, ldc_pad = 0, ldb_pad = 0;
  bool bias = true;
  float fmin = -INFINITY, fmax = INFINITY;
  uint64_t seed = 1;
};

// Runs `kern` on the tiles (sequentially) and checks every element; returns false on failure.
bool check(const GemmF32Kernel& kern, const GemmCase& c, const std::vector<Tile>& tiles) {
  Rng rng(c.seed * 1315423911u + c.M * 7 + c.N * 131 + c.K * 17);
  size_t lda = c.K + c.lda_pad, ldb = c.K + c.ldb_pad, ldc = c.N + c.ldc_pad;
  Weights w = make_weights(kern.weight_dtype, c.N, c.K, ldb, rng);
  // A rows inside the union of tiles hold data; others are NaN (must not be read).
  std::vector<char> row_used(c.M, 0);
  for (const Tile& t : tiles)
    for (size_t m = t.m0; m < t.m1; ++m) row_used[m] = 1;
  std::vector<float> A(c.M ? (c.M - 1) * lda + c.K : 0);
  for (size_t m = 0; m < c.M; ++m)
    for (size_t k = 0; k < lda && m * lda + k < A.size(); ++k)
      A[m * lda + k] = (k < c.K && row_used[m]) ? rng.uniform(-1.f, 1.f) : NAN;
  std::vector<float> bias(c.N);
  for (float& b : bias) b = rng.uniform(-1.f, 1.f);

  size_t psize = kern.packed_size(c.N, c.K);
  AlignedBuf packed(psize + 64);
  std::memset(packed.p, 0xA5, psize + 64);
  kern.pack(c.N, c.K, w.bytes.data(), ldb, packed.p);
  bool ok = true;
  std::ostringstream ctx;
  ctx << kern.name << " M=" << c.M << " N=" << c.N << " K=" << c.K << " lda=" << lda
      << " ldb=" << ldb << " ldc=" << ldc << " bias=" << c.bias << " clamp=[" << c.fmin << ","
      << c.fmax << "]";
  for (size_t i = 0; i < 64; ++i)
    if (static_cast<uint8_t*>(packed.p)[psize + i] != 0xA5) {
      QRT_EXPECT(false) << ctx.str() << ": pack wrote past packed_size";
      return false;
    }

  std::vector<float> C(c.M * ldc);
  float sentinel;
  std::memcpy(&sentinel, &kSentinelBits, 4);
  for (float& x : C) x = sentinel;
  for (const Tile& t : tiles)
    kern.run(c.M, c.N, c.K, A.data(), lda, packed.p, c.bias ? bias.data() : nullptr, c.fmin,
             c.fmax, C.data(), ldc, t.m0, t.m1, t.n0, t.n1);

  double u = std::ldexp(1.0, -23) * (c.K + 2) + (kern.rounds_a_to_bf16 ? std::ldexp(1.0, -8) : 0);
  int failures = 0;
  for (size_t m = 0; m < c.M; ++m)
    for (size_t n = 0; n < ldc; ++n) {
      bool in = false;
      for (const Tile& t : tiles)
        in |= m >= t.m0 && m < t.m1 && n >= t.n0 && n < t.n1;
      uint32_t bits;
      std::memcpy(&bits, &C[m * ldc + n], 4);
      if (!in) {
        if (bits != kSentinelBits && failures++ < 3) {
          QRT_EXPECT(false) << ctx.str() << ": wrote outside the tile at m=" << m << " n=" << n;
          ok = false;
        }
        continue;
      }
      double s = 0, sa = 0;
      for (size_t k = 0; k < c.K; ++k) {
        double p = static_cast<double>(A[m * lda + k]) * w.value[n * c.K + k];
        s += p;
        sa += std::fabs(p);
      }
      if (c.bias) {
        s += bias[n];
        sa += std::fabs(bias[n]);
      }
      double r = s;
      r = c.fmin > r ? c.fmin : r;
      r = c.fmax < r ? c.fmax : r;
      double tol = u * sa + 1e-30;
      double got = C[m * ldc + n];
      if (!(std::fabs(got - r) <= tol) && failures++ < 3) {
        QRT_EXPECT(false) << ctx.str() << ": C[" << m << "][" << n << "] = " << got
                          << " expected " << r << " tol " << tol;
        ok = false;
      }
    }
  return ok;
}

std::vector<Tile> full(size_t M, size_t N) { return {{0, M, 0, N}}; }

// Four tiles: M split anywhere, N split at a multiple of nr.
std::vector<Tile> quad(const GemmF32Kernel& k, size_t M, size_t N) {
  size_t ms = M / 2, ns = (N / 2) / k.nr * k.nr;
  return {{0, ms, 0, ns}, {0, ms, ns, N}, {ms, M, 0, ns}, {ms, M, ns, N}};
}

void sweep(format::DType dt) {
  const size_t Ms[] = {1, 2, 3, 7, 16, 17, 128};
  const size_t Ks[] = {1, 3, 8, 15, 16, 17, 768};
  const size_t Ns[] = {1, 7, 16, 17, 33, 64, 95};
  int cases = 0;
  for (const GemmF32Kernel* kern : gemm_f32_variants(dt)) {
    for (size_t M : Ms)
      for (size_t K : Ks)
        for (size_t N : Ns) {
          if (kern->isa == cpu::Isa::kRef && M * N * K > 200000) continue;  // slow, same code
          GemmCase c{M, N, K};
          c.seed = ++cases;
          // Alternate strides / bias so every shape sees both.
          if (cases % 2) {
            c.lda_pad = 3;
            c.ldc_pad = 5;
            c.ldb_pad = 2;
          }
          c.bias = cases % 3 != 0;
          if (!check(*kern, c, full(M, N))) return;
        }
  }
}

}  // namespace

QRT_TEST(FloatGemm, VariantsListedAndSelectNeverNull) {
  for (auto dt : {format::DType::kF32, format::DType::kF16, format::DType::kBF16}) {
    const auto& v = gemm_f32_variants(dt);
    QRT_ASSERT(!v.empty());
    QRT_EXPECT(v.back()->isa == cpu::Isa::kRef) << dtype_str(dt);
    for (const GemmF32Kernel* k : v) QRT_EXPECT(k->weight_dtype == dt) << k->name;
    const GemmF32Kernel& s = select_gemm_f32(dt);
    QRT_EXPECT(s.weight_dtype == dt) << s.name;
    std::printf("    %s: select %s; variants:", dtype_str(dt), s.name);
    for (const GemmF32Kernel* k : v) std::printf(" %s", k->name);
    std::printf("\n");
  }
  QRT_EXPECT(gemm_f32_variants(format::DType::kS8).empty());
  cpu::Isa cap = cpu::isa_cap();
  QRT_ASSERT(cpu::set_isa_cap("ref").ok());
  QRT_EXPECT(select_gemm_f32(format::DType::kF16).isa == cpu::Isa::kRef);
  QRT_ASSERT(cpu::set_isa_cap(cpu::isa_name(cap)).ok());
}

QRT_TEST(FloatGemm, ConversionsExact) {
  // Every half converts to float and back unchanged (NaNs stay NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      QRT_EXPECT(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
      continue;
    }
    if (f32_to_f16(f) != h) {
      QRT_EXPECT(false) << "f16 round trip" << h;
      return;
    }
  }
  QRT_EXPECT(f32_to_f16(65520.f) == 0x7c00);    // ties to even -> Inf
  QRT_EXPECT(f32_to_f16(65519.f) == 0x7bff);
  QRT_EXPECT(f32_to_f16(std::ldexp(1.f, -25)) == 0);            // tie to even -> 0
  QRT_EXPECT(f32_to_f16(std::ldexp(1.5f, -25)) == 1);
  QRT_EXPECT(f16_to_f32(1) == std::ldexp(1.f, -24));
  QRT_EXPECT(f32_to_bf16(1.0f) == 0x3f80);
  QRT_EXPECT(f32_to_bf16(1.00390625f) == 0x3f80);               // tie to even (down)
  QRT_EXPECT(f32_to_bf16(1.01171875f) == 0x3f82);               // tie to even (up)
  QRT_EXPECT(bf16_to_f32(0xc000) == -2.0f);
  QRT_EXPECT(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

QRT_TEST(FloatGemm, F32WeightsShapeSweep) { sweep(format::DType::kF32); }
QRT_TEST(FloatGemm, F16WeightsShapeSweep) { sweep(format::DType::kF16); }
QRT_TEST(FloatGemm, BF16WeightsShapeSweep) { sweep(format::DType::kBF16); }

QRT_TEST(FloatGemm, SubTilesClampsAndLongK) {
  for (auto dt : {format::DType::kF32, format::DType::kF16, format::DType::kBF16}) {
    for (const GemmF32Kernel* kern : gemm_f32_variants(dt)) {
      // Long K: several KC blocks plus a remainder, odd K for the bf16 pair layout.
      for (size_t K : {600u, 1031u, 3072u}) {
        for (size_t M : {1u, 9u}) {
          GemmCase c{M, 70, K};
          c.lda_pad = 1;
          if (!check(*kern, c, full(c.M, c.N))) return;
        }
      }
      // Tiles computed separately (as the thread pool does) and a lone inner tile.
      for (size_t M : {5u, 19u, 40u}) {
        for (size_t N : {40u, 77u, 130u}) {
          GemmCase c{M, N, 37};
          c.ldc_pad = 3;
          if (!check(*kern, c, quad(*kern, M, N))) return;
          size_t n0 = N > static_cast<size_t>(kern->nr) ? kern->nr : 0;
          if (!check(*kern, c, {{1, M - 1, n0, N - 1}})) return;
        }
      }
      // Fused ReLU / ReLU6 / arbitrary clamp.
      const float clamps[][2] = {{0.f, INFINITY}, {0.f, 6.f}, {-0.25f, 0.5f}};
      for (const auto& cl : clamps) {
        GemmCase c{13, 45, 29};
        c.fmin = cl[0];
        c.fmax = cl[1];
        if (!check(*kern, c, full(c.M, c.N))) return;
      }
      // K = 0: C = clamp(bias).
      GemmCase z{4, 20, 0};
      if (!check(*kern, z, full(z.M, z.N))) return;
    }
  }
}

// Row and k block boundaries of the wide kernels: AMX-BF16 (32-row blocks of two 16-row tiles,
// a tail block with its own tile configuration, 32-k blocks, 16-column tile halves), the AVX-512
// 8-row / 128-row blocks and k blocks of at most 160 or 256 (by the L1D size; K = 161 is two
// blocks where the cap is 160, 257 two and 600 four or three) and the AVX2 6-row tiles; every
// variant but the reference.
QRT_TEST(FloatGemm, RowAndKBlockBoundaries) {
  const size_t Ms[] = {4, 5, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 129};
  const size_t Ks[] = {2, 31, 32, 33, 63, 64, 65, 160, 161, 257};
  // 130: 5 panels, where the AVX-512 fp32 kernel packs A inside the first panel's k loops.
  const size_t Ns[] = {16, 31, 32, 33, 64, 70, 130};
  int cases = 0, variants = 0;
  for (auto dt : {format::DType::kF32, format::DType::kF16, format::DType::kBF16}) {
    for (const GemmF32Kernel* kern : gemm_f32_variants(dt)) {
      if (kern->isa == cpu::Isa::kRef) continue;
      ++variants;
      for (size_t M : Ms)
        for (size_t K : Ks)
          for (size_t N : Ns) {
            GemmCase c{M, N, K};
            c.seed = ++cases;
            if (cases % 2) {
              c.lda_pad = 1;
              c.ldc_pad = 3;
            }
            c.bias = cases % 3 != 0;
            if (cases % 5 == 0) c.fmin = 0.f;
            if (!check(*kern, c, full(M, N))) return;
          }
      // Rows split across calls at places that are not multiples of the tile heights.
      GemmCase c{101, 70, 65};
      if (!check(*kern, c, {{0, 37, 0, 70}, {37, 38, 0, 70}, {38, 101, 0, 70}})) return;
      // Wide N: several 768-column passes (AVX-512/AVX2 kNc) with C read back between K blocks,
      // a partial last panel, and tiles that start inside a pass.
      GemmCase w{20, 1601, 600};
      w.ldc_pad = 3;
      if (!check(*kern, w, full(w.M, w.N))) return;
      const size_t n_mid = 800 / kern->nr * kern->nr;
      if (!check(*kern, w, {{0, 11, 0, n_mid}, {0, 11, n_mid, 1601}, {11, 20, 0, 1601}})) return;
    }
  }
  std::printf("    %d cases over %d SIMD variants\n", cases, variants);
}

// fp16/bf16 weights are exact in fp32, so a 16-bit variant must give the bits of the fp32 variant
// of the same ISA and tile run on the widened weights, whichever way it widens them (inside the
// k loop, or a whole panel block into scratch once enough row tiles reuse it): same products, same
// order. Row counts straddle that hand-over and the tile heights; rows are also split into calls
// of a few rows inside a tall GEMM; weights include fp16 subnormals and the largest finite values.
QRT_TEST(FloatGemm, Wide16BitWeightsBitIdenticalToF32) {
  const size_t Ms[] = {1, 2, 5, 6, 7, 8, 9, 12, 15, 16, 17, 18, 23, 24, 25, 31, 33, 49, 127, 129,
                       200, 257};
  const size_t Ks[] = {1, 17, 255, 256, 257, 600};
  const size_t Ns[] = {1, 17, 31, 32, 33, 70, 130};  // 130: fp32 AVX-512 fused A pack (>= 4 panels)
  int cases = 0, pairs = 0;
  for (auto dt : {format::DType::kF16, format::DType::kBF16}) {
    for (const GemmF32Kernel* k16 : gemm_f32_variants(dt)) {
      if (k16->rounds_a_to_bf16) continue;
      const GemmF32Kernel* k32 = nullptr;
      for (const GemmF32Kernel* k : gemm_f32_variants(format::DType::kF32))
        if (k->isa == k16->isa && k->mr == k16->mr && k->nr == k16->nr) k32 = k;
      QRT_EXPECT(k32 != nullptr) << k16->name << ": no fp32 variant with the same tile";
      if (!k32) return;
      ++pairs;
      for (size_t M : Ms)
        for (size_t K : Ks)
          for (size_t N : Ns) {
            if (k16->isa == cpu::Isa::kRef && M * N * K > 200000) continue;
            ++cases;
            Rng rng(cases * 7919u + M);
            const size_t lda = K + (cases % 2), ldc = N + (cases % 3);
            std::vector<uint16_t> w16(N * K);
            std::vector<float> w32(N * K);
            for (size_t i = 0; i < w16.size(); ++i) {
              const uint32_t r = rng.next();
              uint16_t h;
              if (dt == format::DType::kF16) {
                h = r % 23 == 0 ? static_cast<uint16_t>((r >> 8) & 0x83ff)   // +-subnormal or 0
                    : r % 29 == 0 ? static_cast<uint16_t>(0x7bff | ((r >> 8) & 0x8000))  // +-65504
                                  : f32_to_f16(rng.uniform(-2.f, 2.f));
                w32[i] = f16_to_f32(h);
              } else {
                h = r % 23 == 0 ? static_cast<uint16_t>((r >> 8) & 0x807f)   // +-subnormal or 0
                                : f32_to_bf16(rng.uniform(-2.f, 2.f));
                w32[i] = bf16_to_f32(h);
              }
              w16[i] = h;
            }
            std::vector<float> A(M * lda), bias(N);
            for (float& x : A) x = rng.uniform(-1.f, 1.f);
            for (float& x : bias) x = rng.uniform(-1.f, 1.f);
            AlignedBuf p16(k16->packed_size(N, K)), p32(k32->packed_size(N, K));
            k16->pack(N, K, w16.data(), K, p16.p);
            k32->pack(N, K, w32.data(), K, p32.p);
            const float fmin = cases % 4 == 0 ? 0.f : -INFINITY;
            const float* b = cases % 5 == 0 ? nullptr : bias.data();
            std::vector<float> C16(M * ldc, 0.f), C32(M * ldc, 0.f);
            // Whole GEMM, or rows in calls of 3 and 13 (few-row calls inside a tall product).
            std::vector<Tile> tiles = full(M, N);
            if (cases % 3 == 0 && M > 16) tiles = {{0, 3, 0, N}, {3, 16, 0, N}, {16, M, 0, N}};
            for (const Tile& t : tiles) {
              k16->run(M, N, K, A.data(), lda, p16.p, b, fmin, INFINITY, C16.data(), ldc, t.m0,
                       t.m1, t.n0, t.n1);
              k32->run(M, N, K, A.data(), lda, p32.p, b, fmin, INFINITY, C32.data(), ldc, t.m0,
                       t.m1, t.n0, t.n1);
            }
            for (size_t i = 0; i < C16.size(); ++i) {
              uint32_t x, y;
              std::memcpy(&x, &C16[i], 4);
              std::memcpy(&y, &C32[i], 4);
              if (x != y) {
                QRT_EXPECT(false) << k16->name << " vs " << k32->name << " M=" << M << " N=" << N
                                  << " K=" << K << ": C[" << i / ldc << "][" << i % ldc
                                  << "] = " << C16[i] << " vs " << C32[i];
                return;
              }
            }
          }
    }
  }
  std::printf("    %d cases over %d 16-bit / fp32 variant pairs\n", cases, pairs);
}

// Two threads run different tiles of one GEMM on the same packed weights at the same time, with
// different row counts per call (AMX: different tile configurations on the two threads).
QRT_TEST(FloatGemm, ConcurrentTilesOnSharedPackedWeights) {
  for (auto dt : {format::DType::kF32, format::DType::kF16, format::DType::kBF16}) {
    for (const GemmF32Kernel* kern : gemm_f32_variants(dt)) {
      if (kern->isa == cpu::Isa::kRef) continue;
      const size_t M = 77, N = 96, K = 100;
      Rng rng(7);
      Weights w = make_weights(dt, N, K, K, rng);
      std::vector<float> A(M * K), bias(N);
      for (float& x : A) x = rng.uniform(-1.f, 1.f);
      for (float& x : bias) x = rng.uniform(-1.f, 1.f);
      AlignedBuf packed(kern->packed_size(N, K));
      kern->pack(N, K, w.bytes.data(), K, packed.p);
      std::vector<float> C1(M * N, 0.f), C2(M * N, 0.f);
      // Reference run: one call per tile, sequentially.
      const Tile tiles[2] = {{0, 45, 0, N}, {45, M, 0, N}};
      for (const Tile& t : tiles)
        kern->run(M, N, K, A.data(), K, packed.p, bias.data(), -INFINITY, INFINITY, C1.data(), N,
                  t.m0, t.m1, t.n0, t.n1);
      for (int rep = 0; rep < 20; ++rep) {
        std::thread th([&] {
          for (int i = 0; i < 5; ++i)
            kern->run(M, N, K, A.data(), K, packed.p, bias.data(), -INFINITY, INFINITY, C2.data(),
                      N, tiles[1].m0, tiles[1].m1, 0, N);
        });
        for (int i = 0; i < 5; ++i)
          kern->run(M, N, K, A.data(), K, packed.p, bias.data(), -INFINITY, INFINITY, C2.data(), N,
                    tiles[0].m0, tiles[0].m1, 0, N);
        th.join();
        // The same kernel on the same rows gives the same bits whichever thread ran it.
        if (std::memcmp(C1.data(), C2.data(), C1.size() * sizeof(float)) != 0) {
          QRT_EXPECT(false) << kern->name << ": concurrent tiles differ from sequential ones";
          return;
        }
      }
    }
  }
}

QRT_TEST(FloatGemm, NaNPropagatesThroughClamp) {
  for (auto dt : {format::DType::kF32, format::DType::kF16, format::DType::kBF16}) {
    for (const GemmF32Kernel* kern : gemm_f32_variants(dt)) {
      size_t M = 3, N = 20, K = 5;
      std::vector<uint16_t> wh(N * K, dt == format::DType::kF16 ? 0x3c00 : 0x3f80);  // 1.0
      std::vector<float> wf(N * K, 1.f);
      const void* W = dt == format::DType::kF32 ? static_cast<const void*>(wf.data()) : wh.data();
      AlignedBuf packed(kern->packed_size(N, K));
      kern->pack(N, K, W, K, packed.p);
      std::vector<float> A(M * K, 1.f), C(M * N, 0.f);
      A[1 * K + 2] = NAN;
      kern->run(M, N, K, A.data(), K, packed.p, nullptr, 0.f, 6.f, C.data(), N, 0, M, 0, N);
      for (size_t n = 0; n < N; ++n) {
        QRT_EXPECT(C[n] == 5.f) << kern->name << n;
        QRT_EXPECT(std::isnan(C[N + n])) << kern->name << n << C[N + n];
      }
    }
  }
}

QRT_TEST(FloatGemm, NNAllVariants) {
  const size_t Ms[] = {1, 2, 7, 16, 17, 64};
  const size_t Ns[] = {1, 15, 16, 33, 64, 100};
  const size_t Ks[] = {0, 1, 3, 17, 64, 300};
  int cases = 0;
  for (const GemmF32NNKernel* kern : gemm_f32_nn_variants())
    for (size_t M : Ms)
      for (size_t N : Ns)
        for (size_t K : Ks) {
          Rng rng(++cases);
          size_t pad = cases % 2 ? 3 : 0;
          size_t lda = K + pad, ldb = N + pad, ldc = N + 2 * pad;
          std::vector<float> A(M && K ? (M - 1) * lda + K : 0), B(K ? (K - 1) * ldb + N : 0);
          for (size_t i = 0; i < A.size(); ++i) A[i] = i % lda < K ? rng.uniform(-1, 1) : NAN;
          for (size_t i = 0; i < B.size(); ++i) B[i] = i % ldb < N ? rng.uniform(-1, 1) : NAN;
          float sentinel;
          std::memcpy(&sentinel, &kSentinelBits, 4);
          std::vector<float> C(M * ldc, sentinel);
          kern->run(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc);
          for (size_t m = 0; m < M; ++m)
            for (size_t n = 0; n < ldc; ++n) {
              uint32_t bits;
              std::memcpy(&bits, &C[m * ldc + n], 4);
              if (n >= N) {
                if (bits != kSentinelBits) {
                  QRT_EXPECT(false) << kern->name << " wrote padding" << M << N << K;
                  return;
                }
                continue;
              }
              double s = 0, sa = 0;
              for (size_t k = 0; k < K; ++k) {
                double p = static_cast<double>(A[m * lda + k]) * B[k * ldb + n];
                s += p;
                sa += std::fabs(p);
              }
              double tol = std::ldexp(1.0, -23) * (K + 2) * sa + 1e-30;
              if (!(std::fabs(C[m * ldc + n] - s) <= tol)) {
                QRT_EXPECT(false) << kern->name << "M N K" << M << N << K << "at" << m << n
                                  << C[m * ldc + n] << "vs" << s;
                return;
              }
            }
        }
  // The dispatching entry point agrees too.
  std::vector<float> A = {1, 2, 3, 4}, B = {5, 6, 7, 8}, C(4);
  gemm_f32_nn(2, 2, 2, A.data(), 2, B.data(), 2, C.data(), 2);
  QRT_EXPECT(C[0] == 19 && C[1] == 22 && C[2] == 43 && C[3] == 50);
}
