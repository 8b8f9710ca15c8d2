// gemm_u8s8: every variant against the scalar reference, bit for bit (see kernels/gemm_u8s8.h).
// Covers M < mr and tails, K around the 4-byte group (1, 3, 4, 5, 63..65, 768), N tails
// (1, nr-1, nr+1, odd), zero points 0/128/255, clamps, both epilogues, strided A/C, tiles and
// sub-tiles, accumulator stress with 255 x -128 up to K = 65536, int32 wrap-around, guard pages
// after every input and sentinel-filled outputs.
#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>

#include "cpu/features.h"
#include "harness.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/int8_test_util.h"

namespace {

using qrt::kernels::GemmU8S8Epilogue;
using qrt::kernels::GemmU8S8Kernel;
using namespace qrt_test::int8;
using Kind = GemmU8S8Epilogue::Kind;

struct Tile {
  size_t m0, m1, n0, n1;
};

struct GemmCase {
  size_t M = 1, N = 1, K = 1, lda = 0, ldb = 0, ldc = 0;
  Kind kind = Kind::kRequantU8;
  int32_t a_zp = 0, out_zp = 0, qmin = 0, qmax = 255;
  bool bias = true, bias_f32 = true;
  enum class Data { kRandom, kExtreme, kSaturated } data = Data::kRandom;
  bool cancel_bias = false;   // kSaturated: choose bias so that acc is small (exact in float)
  bool wrap_bias = false;     // bias near INT32_MAX so that acc wraps modulo 2^32
  double scale_mul = 1.0;     // multiplies every scale (huge: r = acc * scale beyond 2^31)
  uint64_t seed = 1;
  std::vector<Tile> tiles;    // run the kernel on these tiles (default: whole matrix)
  bool ref_same_tiles = false;  // reference computes only the same tiles (else: all of C)
  int b_lim = 128;            // B in [-b_lim, min(b_lim, 127)] (narrow-weight variants: 64)

  std::string describe(const GemmU8S8Kernel& k) const {
    std::ostringstream os;
    os << k.name << " M=" << M << " N=" << N << " K=" << K << " lda=" << (lda ? lda : K)
       << " ldc=" << (ldc ? ldc : N) << (kind == Kind::kRequantU8 ? " requant" : " dequant")
       << " a_zp=" << a_zp << " out_zp=" << out_zp << " q=[" << qmin << "," << qmax << "]"
       << " bias=" << bias << " data=" << static_cast<int>(data) << " scale_mul=" << scale_mul
       << " seed=" << seed
       << " tiles=" << tiles.size();
    return os.str();
  }
};

// Runs one case on kernel k and on the reference; true if C matches byte for byte.
bool check_case(const GemmU8S8Kernel& k, const GemmU8S8Kernel& ref, GemmCase c) {
  const size_t lda = c.lda ? c.lda : c.K, ldb = c.ldb ? c.ldb : c.K, ldc = c.ldc ? c.ldc : c.N;
  Rng rng(c.seed);
  GuardedBuffer<uint8_t> A(c.M * lda);
  GuardedBuffer<int8_t> B(c.N * ldb);
  GuardedBuffer<int32_t> bias(c.N);
  GuardedBuffer<float> scale(c.N), bias_f(c.N);
  for (size_t i = 0; i < A.size(); ++i) {
    const size_t kk = i % lda;
    switch (c.data) {
      case GemmCase::Data::kRandom: A[i] = static_cast<uint8_t>(rng.uniform(0, 255)); break;
      case GemmCase::Data::kExtreme: A[i] = rng.uniform(0, 1) ? 255 : 0; break;
      case GemmCase::Data::kSaturated:
        A[i] = kk + 3 >= c.K ? static_cast<uint8_t>(rng.uniform(0, 255)) : 255;
        break;
    }
  }
  const int blo = -c.b_lim, bhi = c.b_lim < 127 ? c.b_lim : 127;
  for (size_t i = 0; i < B.size(); ++i) {
    const size_t kk = i % ldb;
    switch (c.data) {
      case GemmCase::Data::kRandom: B[i] = static_cast<int8_t>(rng.uniform(blo, bhi)); break;
      case GemmCase::Data::kExtreme: B[i] = static_cast<int8_t>(rng.uniform(0, 1) ? bhi : blo); break;
      case GemmCase::Data::kSaturated:
        B[i] = kk + 3 >= c.K ? static_cast<int8_t>(rng.uniform(blo, bhi)) : static_cast<int8_t>(blo);
        break;
    }
  }
  const double typical = std::sqrt(static_cast<double>(c.K)) * 6000.0 + 1.0;
  for (size_t n = 0; n < c.N; ++n) {
    bias[n] = rng.uniform(-100000, 100000);
    double s = rng.uniformf(0.5f, 2.0f) * 150.0 / typical;
    if (n % 5 == 1) s = std::ldexp(1.0, static_cast<int>(std::lround(std::log2(s))));  // ties
    scale[n] = static_cast<float>(std::min(s * c.scale_mul, 3.0e38));
    bias_f[n] = rng.uniformf(-3.0f, 3.0f);
  }
  if (c.cancel_bias) {
    // Every row has the same first K-3 products: cancel them so |acc| < 2^24 is exact in float.
    const int64_t big = static_cast<int64_t>(c.K > 3 ? c.K - 3 : 0) * 255 * blo;
    const int64_t zpart = static_cast<int64_t>(c.a_zp) * (c.K > 3 ? c.K - 3 : 0) * blo;
    for (size_t n = 0; n < c.N; ++n) {
      bias[n] = static_cast<int32_t>(-(big - zpart)) + rng.uniform(-1000, 1000);
      scale[n] = 1.0f;
    }
  }
  if (c.wrap_bias)
    for (size_t n = 0; n < c.N; ++n) bias[n] = INT32_MAX - rng.uniform(0, 1000);

  AlignedBuffer pk(k.packed_size(c.N, c.K)), pr(ref.packed_size(c.N, c.K));
  k.pack(c.N, c.K, B.data(), ldb, pk.data());
  ref.pack(c.N, c.K, B.data(), ldb, pr.data());
  bool ok = true;
  if (!pk.tail_intact()) {
    QRT_EXPECT(false) << c.describe(k) << ": pack wrote past packed_size()";
    ok = false;
  }

  GemmU8S8Epilogue ep;
  ep.kind = c.kind;
  ep.a_zero_point = c.a_zp;
  ep.bias = c.bias ? bias.data() : nullptr;
  ep.scale = scale.data();
  ep.out_zero_point = c.out_zp;
  ep.qmin = c.qmin;
  ep.qmax = c.qmax;
  ep.bias_f32 = c.bias_f32 ? bias_f.data() : nullptr;

  const size_t esz = c.kind == Kind::kRequantU8 ? 1 : 4;
  const size_t cbytes = c.M * ldc * esz;
  GuardedBuffer<uint8_t> Ck(cbytes), Cr(cbytes);
  std::memset(Ck.data(), 0xA5, cbytes);  // also a NaN pattern for floats (0xA5A5A5A5 is not)
  std::memset(Cr.data(), 0xA5, cbytes);
  std::vector<Tile> tiles = c.tiles;
  if (tiles.empty()) tiles.push_back({0, c.M, 0, c.N});
  for (const Tile& t : tiles)
    k.run(c.M, c.N, c.K, A.data(), lda, pk.data(), ep, Ck.data(), ldc, t.m0, t.m1, t.n0, t.n1);
  if (c.ref_same_tiles) {
    for (const Tile& t : tiles)
      ref.run(c.M, c.N, c.K, A.data(), lda, pr.data(), ep, Cr.data(), ldc, t.m0, t.m1, t.n0, t.n1);
  } else {
    ref.run(c.M, c.N, c.K, A.data(), lda, pr.data(), ep, Cr.data(), ldc, 0, c.M, 0, c.N);
  }
  if (std::memcmp(Ck.data(), Cr.data(), cbytes) != 0) {
    for (size_t i = 0; i < cbytes; ++i) {
      if (Ck[i] == Cr[i]) continue;
      const size_t e = i / esz, m = e / ldc, n = e % ldc;
      std::ostringstream got, want;
      if (esz == 1) {
        got << int(Ck[i]);
        want << int(Cr[i]);
      } else {
        float g, w;
        std::memcpy(&g, Ck.data() + e * 4, 4);
        std::memcpy(&w, Cr.data() + e * 4, 4);
        got << g;
        want << w;
      }
      QRT_EXPECT(false) << c.describe(k) << ": first mismatch at m=" << m << " n=" << n
                        << (n >= c.N ? " (row padding: written outside the tile)" : "")
                        << " got " << got.str() << " want " << want.str();
      break;
    }
    ok = false;
  }
  return ok;
}

// Variants other than the reference; prints which ones the test covers.
std::vector<const GemmU8S8Kernel*> simd_variants(const char* test) {
  std::vector<const GemmU8S8Kernel*> v;
  std::vector<std::string> names;
  for (const GemmU8S8Kernel* k : qrt::kernels::gemm_u8s8_variants())
    if (k->isa != qrt::cpu::Isa::kRef) v.push_back(k), names.push_back(k->name);
  std::printf("    %s covers: %s\n", test, names.empty() ? "(no SIMD variant on this CPU)"
                                                          : join_names(names).c_str());
  return v;
}

const GemmU8S8Kernel& ref_kernel() { return *qrt::kernels::gemm_u8s8_variants().back(); }

}  // namespace

QRT_TEST(Int8Gemm, ReferenceIsLastAndSelectionHonoursCap) {
  const auto& v = qrt::kernels::gemm_u8s8_variants();
  QRT_ASSERT(!v.empty());
  QRT_EXPECT(v.back()->isa == qrt::cpu::Isa::kRef) << v.back()->name;
  const std::string before = qrt::cpu::isa_name(qrt::cpu::isa_cap());
  QRT_EXPECT(qrt::cpu::set_isa_cap("ref").ok());
  QRT_EXPECT(qrt::kernels::select_gemm_u8s8().isa == qrt::cpu::Isa::kRef);
  for (const GemmU8S8Kernel* k : v) {
    QRT_EXPECT(qrt::cpu::set_isa_cap(qrt::cpu::isa_name(k->isa)).ok()) << k->name;
    QRT_EXPECT(qrt::kernels::select_gemm_u8s8().isa == k->isa)
        << "cap " << qrt::cpu::isa_name(k->isa) << " selected "
        << qrt::kernels::select_gemm_u8s8().name;
  }
  QRT_EXPECT(qrt::cpu::set_isa_cap(before).ok());
}

QRT_TEST(Int8Gemm, ShapesAllVariants) {
  auto ks = simd_variants("Int8Gemm.ShapesAllVariants");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  // Rows: below / at / above the AMX kernel's 16-row tiles, 32-row blocks and VNNI hand-off; 4-6
  // and 47 (12+12+12+11) so that the 12x32 VNNI kernel runs every row-block size from 3 to 12.
  const size_t Ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 31, 32, 33, 47, 128};
  // Depths: around the 4-byte group and the 64-byte AMX k-block (full blocks + tail); 517 = two
  // of the AVX2 kernel's 256-k chunks of widened A and a 5-k chunk with a k tail.
  const size_t Ks[] = {1, 3, 4, 5, 63, 64, 65, 130, 517, 768};
  int cases = 0, failed = 0;
  for (const GemmU8S8Kernel* k : ks) {
    const size_t nr = k->nr;
    const size_t Ns[] = {1, nr - 1, nr + 1, 37, 2 * nr + 3};
    uint64_t seed = 100;
    for (size_t M : Ms)
      for (size_t K : Ks)
        for (size_t N : Ns) {
          if (N == 0) continue;
          GemmCase c;
          c.M = M, c.N = N, c.K = K, c.seed = ++seed;
          c.kind = seed % 3 == 0 ? Kind::kDequantF32 : Kind::kRequantU8;
          const int32_t zps[] = {0, 128, 255, 17};
          c.a_zp = zps[seed % 4];
          c.out_zp = zps[(seed / 4) % 4];
          c.bias = seed % 7 != 0;
          c.bias_f32 = seed % 5 != 0;
          ++cases;
          if (!check_case(*k, ref_kernel(), c)) ++failed;
        }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}

// Small K, every multiple of 4 below 64 (the AMX kernel's K-wide tiles loaded straight from A,
// MobileNet's 1x1 convolutions) plus neighbours that keep the zero-padded copy: row counts around
// the 16-row tiles and 32-row blocks, N tails, strided A (lda > K: the tile must not take the
// bytes between rows), clamps and zero points, and a tile split.
QRT_TEST(Int8Gemm, SmallKAllDepths) {
  auto ks = simd_variants("Int8Gemm.SmallKAllDepths");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  std::vector<size_t> Ks;
  for (size_t K = 4; K <= 60; K += 4) Ks.push_back(K);
  Ks.push_back(2);
  Ks.push_back(62);
  Ks.push_back(0);  // no products: the epilogue of zero sums (the AMX tiles cannot be 0 wide)
  int cases = 0, failed = 0;
  for (const GemmU8S8Kernel* k : ks) {
    const size_t nr = k->nr;
    uint64_t seed = 9000;
    for (size_t M : {2, 15, 17, 31, 33, 45, 70})
      for (size_t K : Ks)
        for (size_t N : {size_t(1), nr - 1, nr + 1, 3 * nr + 5}) {
          GemmCase c;
          c.M = M, c.N = N, c.K = K, c.seed = ++seed;
          c.kind = seed % 4 == 0 ? Kind::kDequantF32 : Kind::kRequantU8;
          const int32_t zps[] = {0, 128, 255, 17};
          c.a_zp = zps[seed % 4];
          c.out_zp = zps[(seed / 4) % 4];
          c.qmin = seed % 3 == 0 ? c.out_zp : 0;
          c.qmax = seed % 5 == 0 ? 200 : 255;
          if (c.qmax < c.qmin) c.qmax = c.qmin;
          if (seed % 2) c.lda = K + 3 + seed % 9, c.ldc = N + 5;
          if (seed % 7 == 0 && M > 2 && N > nr) {
            const size_t ms = M / 2;
            c.tiles.push_back({0, ms, 0, nr});
            c.tiles.push_back({0, ms, nr, N});
            c.tiles.push_back({ms, M, 0, N});
          }
          ++cases;
          if (!check_case(*k, ref_kernel(), c)) ++failed;
        }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}

// The c4 layout as docs/KERNELS_INT8.md states it, one byte at a time (the original packer):
// colsum (int32 x round_up(N, nr), zero beyond N, region padded to 64 bytes), then panels of
// ceil(K/4) k-groups of nr x 4 bytes, byte (j*4 + t) = B[p*nr + j][4g + t], zero beyond N and K;
// every byte after that up to packed_size() is zero (the AMX kernel's 4 KiB pad).
std::vector<uint8_t> spec_pack_c4(size_t N, size_t K, const int8_t* B, size_t ldb, size_t nr,
                                  size_t total) {
  std::vector<uint8_t> out(total, 0);
  const size_t np = (N + nr - 1) / nr, kg = (K + 3) / 4;
  const size_t cs_bytes = (np * nr * 4 + 63) / 64 * 64, pbytes = kg * nr * 4;
  for (size_t n = 0; n < N; ++n) {
    uint32_t sum = 0;
    for (size_t k = 0; k < K; ++k) {
      sum += static_cast<uint32_t>(static_cast<int32_t>(B[n * ldb + k]));
      out[cs_bytes + (n / nr) * pbytes + (k / 4) * nr * 4 + (n % nr) * 4 + k % 4] =
          static_cast<uint8_t>(B[n * ldb + k]);
    }
    std::memcpy(out.data() + 4 * n, &sum, 4);
  }
  return out;
}

// Every SIMD variant's pack() (the c4 packers: AVX-512 16x16 and AVX2 8x8 dword transposes)
// against the byte-at-a-time layout spec, on awkward N (around 8/16 strips and nr panels) and K
// (around 4-byte groups, 8/16-group blocks, 32/64-byte loads), ldb = K and ldb > K; B ends at a
// guard page (no over-read); the packed buffer starts as 0xCD sentinels, so a byte the packer
// leaves unwritten (padding it must zero) fails; writes past packed_size() fail.
QRT_TEST(Int8Gemm, PackMatchesLayoutSpec) {
  auto ks = simd_variants("Int8Gemm.PackMatchesLayoutSpec");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  const size_t Ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 129, 200};
  const size_t Ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 35, 63, 64, 65, 67, 127, 128, 129,
                       255, 256, 257, 768, 1001};
  int cases = 0, failed = 0;
  for (const GemmU8S8Kernel* k : ks) {
    const size_t nr = static_cast<size_t>(k->nr);
    QRT_EXPECT(std::string(k->name).find("c4") != std::string::npos)
        << k->name << ": expected a c4-layout kernel";
    Rng rng(7 + nr);
    for (size_t N : Ns)
      for (size_t K : Ks)
        for (size_t extra : {size_t(0), size_t(13)}) {
          const size_t ldb = K + extra;
          GuardedBuffer<int8_t> B(N * ldb);
          for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<int8_t>(rng.uniform(-128, 127));
          if (N * K % 3 == 0)  // all -128 / all 127 rows: largest colsums
            for (size_t i = 0; i < B.size(); ++i) B[i] = (i / ldb) % 2 ? int8_t(127) : int8_t(-128);
          const size_t bytes = k->packed_size(N, K);
          AlignedBuffer pk(bytes);
          k->pack(N, K, B.data(), ldb, pk.data());
          const std::vector<uint8_t> want = spec_pack_c4(N, K, B.data(), ldb, nr, bytes);
          ++cases;
          bool ok = pk.tail_intact();
          QRT_EXPECT(ok) << k->name << " N=" << N << " K=" << K << " ldb=" << ldb
                         << ": pack wrote past packed_size()";
          const uint8_t* got = static_cast<const uint8_t*>(pk.data());
          for (size_t i = 0; i < bytes; ++i) {
            if (got[i] == want[i]) continue;
            QRT_EXPECT(false) << k->name << " N=" << N << " K=" << K << " ldb=" << ldb
                              << ": first packed byte differing at " << i << " of " << bytes
                              << " got " << int(got[i]) << " want " << int(want[i]);
            ok = false;
            break;
          }
          if (!ok) ++failed;
        }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}

QRT_TEST(Int8Gemm, ZeroPointsClampsEpilogues) {
  auto ks = simd_variants("Int8Gemm.ZeroPointsClampsEpilogues");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    uint64_t seed = 5000;
    for (int32_t a_zp : {0, 128, 255})
      for (int32_t out_zp : {0, 128, 255})
        for (int clamp = 0; clamp < 3; ++clamp)
          for (Kind kind : {Kind::kRequantU8, Kind::kDequantF32})
            for (int b = 0; b < 2; ++b) {
              GemmCase c;
              c.M = 9, c.N = k->nr * 2 + 5, c.K = 131, c.seed = ++seed;
              c.a_zp = a_zp, c.out_zp = out_zp, c.kind = kind, c.bias = b, c.bias_f32 = b;
              if (clamp == 1) c.qmin = out_zp, c.qmax = 255;           // ReLU
              if (clamp == 2) c.qmin = std::min(out_zp, 200), c.qmax = std::min(out_zp + 40, 255);
              ++cases;
              check_case(*k, ref_kernel(), c);
            }
  }
  std::printf("    %d cases\n", cases);
}

// Requant across the whole scale range: tiny scales (every output near zp), typical ones, and
// huge ones where r = acc * scale passes 2^31 (the AMX kernel's saturating epilogue applies only
// when a per-panel bound keeps |r| < 2^30; past it the float clamp runs), saturated data near the
// bound of |acc|, every clamp, row counts with and without a 16-row tail.
QRT_TEST(Int8Gemm, RequantScaleRange) {
  auto ks = simd_variants("Int8Gemm.RequantScaleRange");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    uint64_t seed = 7000;
    for (double mul : {1e-4, 1.0, 3e2, 1e5, 1e8, 1e12})
      for (GemmCase::Data data : {GemmCase::Data::kRandom, GemmCase::Data::kSaturated})
        for (int clamp = 0; clamp < 3; ++clamp)
          for (size_t M : {9, 40}) {
            GemmCase c;
            c.M = M, c.N = k->nr + 7, c.K = data == GemmCase::Data::kSaturated ? 700 : 200;
            c.seed = ++seed, c.data = data, c.scale_mul = mul;
            c.a_zp = 3, c.out_zp = 100;
            if (clamp == 1) c.qmin = 100, c.qmax = 255;
            if (clamp == 2) c.qmin = 5, c.qmax = 250;
            ++cases;
            check_case(*k, ref_kernel(), c);
          }
  }
  std::printf("    %d cases\n", cases);
}

// Deep K (769 .. 2304) with several panels, several column chunks of the AMX loop order (about
// L2/8 of packed B per chunk, so a last chunk of one panel), row tails, K tails, column tiles
// starting past 0, both epilogues.
QRT_TEST(Int8Gemm, DeepKColumnChunks) {
  auto ks = simd_variants("Int8Gemm.DeepKColumnChunks");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    uint64_t seed = 11000;
    for (size_t K : {769, 1024, 1541, 2304})
      for (size_t M : {16, 37, 75})
        for (Kind kind : {Kind::kRequantU8, Kind::kDequantF32}) {
          GemmCase c;
          c.M = M, c.N = 6 * 32 + 11, c.K = K, c.seed = ++seed, c.kind = kind;
          c.a_zp = 7, c.out_zp = 120, c.qmin = 3, c.qmax = 250;
          if (M == 37) {  // push_back: GCC 12 -O3 warns falsely (-Wnonnull) on the list assignment
            c.tiles.push_back({0, M, 0, 96});
            c.tiles.push_back({0, M, 96, c.N});
          }
          ++cases;
          check_case(*k, ref_kernel(), c);
        }
  }
  std::printf("    %d cases\n", cases);
}

QRT_TEST(Int8Gemm, LongKAccumulatorStress) {
  auto ks = simd_variants("Int8Gemm.LongKAccumulatorStress");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    uint64_t seed = 9000;
    for (size_t K : {4096, 4099, 16387, 65536}) {
      // 255 x -128 everywhere but the last 3 k; bias cancels the known part so every acc bit
      // shows in the float output (dequant, scale 1).
      GemmCase c;
      c.M = 37, c.N = k->nr + 3, c.K = K, c.seed = ++seed, c.data = GemmCase::Data::kSaturated;
      c.kind = Kind::kDequantF32, c.cancel_bias = true, c.bias_f32 = false;
      c.a_zp = K == 65536 ? 0 : 3;
      check_case(*k, ref_kernel(), c), ++cases;
      // Random extremes (0/255 x -128/127) through the requant epilogue.
      GemmCase e;
      e.M = 21, e.N = k->nr + 1, e.K = K, e.seed = ++seed, e.data = GemmCase::Data::kExtreme;
      e.a_zp = K == 65536 ? 0 : 255, e.out_zp = 128;
      check_case(*k, ref_kernel(), e), ++cases;
      // Wrap-around: bias near INT32_MAX makes acc wrap; results are defined modulo 2^32.
      GemmCase w = e;
      w.seed = ++seed, w.kind = Kind::kDequantF32, w.wrap_bias = true, w.a_zp = 0;
      check_case(*k, ref_kernel(), w), ++cases;
    }
  }
  std::printf("    %d cases\n", cases);
}

// B larger than 1.5 MiB: the driver's next-panel L2 prefetch (kernels with kPfLines) and its
// pf_lines choice per row-block count (1, 2, 3, 4 and 7 blocks of at most 6 rows), balanced row
// blocks, the GEMV paths over many panels (AMX M = 1: 8, then 1 panel per pass), K with and
// without a tail, clamps, both epilogues; some cases as two column tiles (the first one below the
// prefetch threshold, the second starting at column 1024).
QRT_TEST(Int8Gemm, LargeBNextPanelPrefetch) {
  auto ks = simd_variants("Int8Gemm.LargeBNextPanelPrefetch");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    uint64_t seed = 11000;
    for (size_t M : {1, 2, 3, 7, 16, 17, 37})
      for (size_t K : {768, 771}) {
        GemmCase c;
        c.M = M, c.N = 2050, c.K = K, c.seed = ++seed;
        c.kind = seed % 2 ? Kind::kRequantU8 : Kind::kDequantF32;
        c.a_zp = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 128 : 255;
        c.out_zp = 128, c.qmin = 20, c.qmax = 230;
        if (M == 17 || (M == 1 && K == 771)) {  // (not `= {...}`: GCC 12 aarch64 -O3 warns -Wnonnull)
          c.tiles.resize(2);
          c.tiles[0] = {0, M, 0, 1024};
          c.tiles[1] = {0, M, 1024, c.N};
        }
        check_case(*k, ref_kernel(), c), ++cases;
      }
  }
  std::printf("    %d cases\n", cases);
}

// The next-panel prefetch threshold comes from the detected L2 (cpu::l2_resident_limit()); with
// the L2 size overridden to 256 KiB (limit 192 KiB: B of 240-241 KiB is "not L2-resident", the
// prefetching k-loops with 1-8 lines per 4 k-groups run) and to 64 MiB (no prefetch), every
// variant must still equal the reference, including a column tile whose own B is under the limit.
QRT_TEST(Int8Gemm, L2ThresholdBothSides) {
  auto ks = simd_variants("Int8Gemm.L2ThresholdBothSides");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (size_t l2 : {size_t(256) << 10, size_t(64) << 20}) {
    qrt::cpu::set_l2_cache_bytes(l2);
    for (const GemmU8S8Kernel* k : ks) {
      uint64_t seed = 12000;
      for (size_t M : {1, 3, 7, 16, 37, 128})
        for (size_t K : {768, 771}) {
          GemmCase c;
          c.M = M, c.N = 320, c.K = K, c.seed = ++seed;
          c.kind = seed % 2 ? Kind::kRequantU8 : Kind::kDequantF32;
          c.a_zp = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 128 : 255;
          c.out_zp = 100, c.qmin = 10, c.qmax = 240;
          if (M == 16) {
            c.tiles.resize(2);
            c.tiles[0] = {0, M, 0, 64};
            c.tiles[1] = {0, M, 64, c.N};
          }
          check_case(*k, ref_kernel(), c), ++cases;
        }
    }
  }
  qrt::cpu::set_l2_cache_bytes(0);
  std::printf("    %d cases (L2 taken as 256 KiB and 64 MiB)\n", cases);
}

QRT_TEST(Int8Gemm, StridesAndTiles) {
  auto ks = simd_variants("Int8Gemm.StridesAndTiles");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    const size_t nr = k->nr;
    uint64_t seed = 7000;
    for (size_t M : {1, 5, 13, 40, 75})
      for (size_t K : {7, 64, 301}) {
        for (Kind kind : {Kind::kRequantU8, Kind::kDequantF32}) {
          const size_t N = 3 * nr + 7;
          // Strided A and C, whole matrix computed as four tiles.
          GemmCase c;
          c.M = M, c.N = N, c.K = K, c.lda = K + 13, c.ldb = K + 5, c.ldc = N + 9;
          c.kind = kind, c.seed = ++seed, c.a_zp = 77, c.out_zp = 100;
          const size_t ms = M / 2, ns = nr * (1 + seed % 2);
          c.tiles = {{0, ms, 0, ns}, {0, ms, ns, N}, {ms, M, 0, ns}, {ms, M, ns, N}};
          check_case(*k, ref_kernel(), c), ++cases;
          // One interior sub-tile only (ending inside a panel): nothing else may be written.
          GemmCase s = c;
          s.seed = ++seed;
          s.tiles = {{M / 3, M - M / 4, nr, 2 * nr + 3}};
          s.ref_same_tiles = true;
          check_case(*k, ref_kernel(), s), ++cases;
          // Empty tiles are no-ops.
          GemmCase z = c;
          z.tiles = {{0, 0, 0, N}, {0, M, nr, nr}};
          z.ref_same_tiles = true;
          check_case(*k, ref_kernel(), z), ++cases;
        }
      }
  }
  std::printf("    %d cases\n", cases);
}

// Tiles of one GEMM computed concurrently by two threads on the same packed B, each thread with a
// different row count per call (so AMX tile configurations differ between threads and change
// between calls): per-thread state only, the result must equal the reference.
QRT_TEST(Int8Gemm, ConcurrentTilesTwoThreads) {
  auto ks = simd_variants("Int8Gemm.ConcurrentTilesTwoThreads");
  if (ks.empty()) QRT_SKIP("no SIMD gemm_u8s8 variant runs on this CPU");
  const size_t M = 203, K = 777;
  int cases = 0;
  for (const GemmU8S8Kernel* k : ks) {
    const size_t N = 3 * k->nr + 5;
    Rng rng(4242);
    std::vector<uint8_t> A(M * K);
    std::vector<int8_t> B(N * K);
    std::vector<int32_t> bias(N);
    std::vector<float> scale(N);
    for (auto& a : A) a = static_cast<uint8_t>(rng.uniform(0, 255));
    for (auto& b : B) b = static_cast<int8_t>(rng.uniform(-128, 127));
    for (size_t n = 0; n < N; ++n) bias[n] = rng.uniform(-5000, 5000), scale[n] = 3e-5f;
    const GemmU8S8Kernel& ref = ref_kernel();
    AlignedBuffer pk(k->packed_size(N, K)), pr(ref.packed_size(N, K));
    k->pack(N, K, B.data(), K, pk.data());
    ref.pack(N, K, B.data(), K, pr.data());
    GemmU8S8Epilogue ep;
    ep.a_zero_point = 131, ep.bias = bias.data(), ep.scale = scale.data(), ep.out_zero_point = 9;
    std::vector<uint8_t> want(M * N), got(M * N, 0xA5);
    ref.run(M, N, K, A.data(), K, pr.data(), ep, want.data(), N, 0, M, 0, N);
    // Thread t takes row chunks of sizes {5, 17, 32, 40, 9, 100} (t = 0) or {33, 8, 64, 1, 97}
    // (t = 1) over disjoint column ranges [0, nr) and [nr, N), repeatedly.
    auto work = [&](int t) {
      const size_t sizes0[] = {5, 17, 32, 40, 9, 100}, sizes1[] = {33, 8, 64, 1, 97};
      const size_t* sz = t == 0 ? sizes0 : sizes1;
      const size_t nsz = t == 0 ? 6 : 5;
      const size_t n0 = t == 0 ? 0 : k->nr, n1 = t == 0 ? k->nr : N;
      for (int rep = 0; rep < 20; ++rep)
        for (size_t m = 0, i = rep; m < M; ++i) {
          const size_t m1 = std::min(M, m + sz[i % nsz]);
          k->run(M, N, K, A.data(), K, pk.data(), ep, got.data(), N, m, m1, n0, n1);
          m = m1;
        }
    };
    std::thread th(work, 1);
    work(0);
    th.join();
    ++cases;
    size_t bad = 0;
    while (bad < got.size() && got[bad] == want[bad]) ++bad;
    QRT_EXPECT(bad == got.size()) << k->name << ": mismatch at m=" << bad / N << " n=" << bad % N;
  }
  std::printf("    %d cases\n", cases);
}

// Narrow-weight variants (b_abs_max < 128, reached through a general variant's `narrow` after
// packed_b_within): bit-exact to the reference for B inside their range, on the general variant's
// packed bytes, including the worst pair sums (A = 255 with B = -64 or 64 everywhere).
QRT_TEST(Int8Gemm, NarrowWeightVariants) {
  std::vector<std::string> names;
  int cases = 0, failed = 0;
  const GemmU8S8Kernel& ref = ref_kernel();
  for (const GemmU8S8Kernel* g : qrt::kernels::gemm_u8s8_variants()) {
    const GemmU8S8Kernel* k = g->narrow;
    if (!k) continue;
    names.push_back(k->name);
    QRT_EXPECT(k->b_abs_max < 128 && k->nr == g->nr && k->pack == g->pack) << k->name;
    for (size_t M : {1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 128})
      for (size_t K : {1, 3, 4, 5, 63, 64, 65, 517, 1030})
        for (size_t N : {1, 7, 9, 16, 17, 37}) {
          for (auto data : {GemmCase::Data::kRandom, GemmCase::Data::kExtreme, GemmCase::Data::kSaturated}) {
            GemmCase c;
            c.M = M, c.N = N, c.K = K, c.data = data, c.b_lim = k->b_abs_max;
            c.a_zp = static_cast<int32_t>((M * 37 + K) % 256);
            c.out_zp = static_cast<int32_t>(N * 11 % 256);
            c.kind = (M + N) % 3 == 0 ? Kind::kDequantF32 : Kind::kRequantU8;
            c.cancel_bias = data == GemmCase::Data::kSaturated;
            c.seed = static_cast<uint64_t>(M * 1000003 + K * 1009 + N);
            ++cases;
            if (!check_case(*k, ref, c)) ++failed;
          }
        }
    GemmCase t;  // tiles of a 2-thread split, strided A and C
    t.M = 40, t.N = 70, t.K = 300, t.lda = 311, t.ldc = 75, t.b_lim = k->b_abs_max;
    t.tiles.push_back({0, 20, 0, 40});  // (push_back: GCC 12 -Wnonnull misfires on `= {...}` here)
    t.tiles.push_back({20, 40, 0, 40});
    t.tiles.push_back({0, 40, 40, 70});
    ++cases;
    if (!check_case(*k, ref, t)) ++failed;
  }
  std::printf("    NarrowWeightVariants covers: %s (%d cases, %d failed)\n",
              names.empty() ? "(none on this CPU)" : join_names(names).c_str(), cases, failed);
  if (names.empty()) QRT_SKIP("no narrow-weight gemm_u8s8 variant on this CPU");
}

QRT_TEST(Int8Gemm, PackedWeightsWithinRange) {
  for (const GemmU8S8Kernel* k : qrt::kernels::gemm_u8s8_variants()) {
    if (k->isa == qrt::cpu::Isa::kRef) continue;  // the check reads the c4 layout
    for (size_t N : {1, 9, 33})
      for (size_t K : {1, 5, 64}) {
        std::vector<int8_t> B(N * K);
        Rng rng(N * 131 + K);
        for (auto& b : B) b = static_cast<int8_t>(rng.uniform(-64, 64));
        AlignedBuffer pk(k->packed_size(N, K));
        k->pack(N, K, B.data(), K, pk.data());
        QRT_EXPECT(qrt::kernels::packed_b_within(*k, pk.data(), N, K, 64)) << k->name;
        for (int bad : {65, -65, 127, -128}) {
          std::vector<int8_t> B2 = B;
          B2[(N * K) / 2] = static_cast<int8_t>(bad);
          k->pack(N, K, B2.data(), K, pk.data());
          QRT_EXPECT(!qrt::kernels::packed_b_within(*k, pk.data(), N, K, 64)) << k->name << " " << bad;
          QRT_EXPECT(qrt::kernels::packed_b_within(*k, pk.data(), N, K, 128)) << k->name;
        }
      }
    // Every byte value against every limit's edges, at the start, middle and end of the buffer
    // (the check adds lim in 8 bits: the values below -lim must not wrap into range).
    const size_t N = 40, K = 37;
    for (int lim : {0, 1, 63, 64, 65, 100, 126, 127, 128, -1}) {
      for (int v = -128; v <= 127; ++v) {
        for (size_t pos : {size_t{0}, N * K / 2, N * K - 1}) {
          std::vector<int8_t> B(N * K, 0);
          B[pos] = static_cast<int8_t>(v);
          AlignedBuffer pk(k->packed_size(N, K));
          k->pack(N, K, B.data(), K, pk.data());
          const bool want = lim >= 0 && (v < 0 ? -v : v) <= lim;
          QRT_EXPECT(qrt::kernels::packed_b_within(*k, pk.data(), N, K, lim) == want)
              << k->name << " lim " << lim << " v " << v << " pos " << pos;
        }
      }
    }
  }
}
