// gemm_u8s8 run_taps (implicit im2col): every variant that has it against the reference run() on
// the explicitly gathered matrix A[m][t * kt + j] = A0[m * lda + tap_off[t] + j], bit for bit.
// Covers convolution-like tap layouts (3x3, 5x5 dilated, 1x7, one tap), kt = 4 .. 256 (k-group
// counts with and without a remainder of 4), row counts 3..12 and past a block, N tails, tiles,
// zero points and both epilogues; A0 ends at a guard page and C is sentinel-filled. Narrow-weight
// variants (reached through a variant's `narrow`) run the same cases with B in their range, plus
// long-K cases (K > 4096: the AVX2 one gathers those in chunks) and many-panel tiles.
#include <cstring>
#include <sstream>

#include "harness.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/int8_test_util.h"

namespace {

using qrt::kernels::GemmU8S8Epilogue;
using qrt::kernels::GemmU8S8Kernel;
using namespace qrt_test::int8;
using Kind = GemmU8S8Epilogue::Kind;

struct TapCase {
  size_t M, N, kt;
  size_t kh, kw, dil, stride;  // taps laid out as a convolution window over a padded image
  Kind kind = Kind::kRequantU8;
  int32_t a_zp = 0, out_zp = 0, qmin = 0, qmax = 255;
  size_t m0 = 0, m1 = 0, n0 = 0, n1 = 0;  // tile (m1 == 0: whole)
  uint64_t seed = 1;
};

bool check_taps(const GemmU8S8Kernel& k, const GemmU8S8Kernel& ref, const TapCase& c) {
  const int b_hi = k.b_abs_max < 128 ? k.b_abs_max : 127;
  // Image row of width Wp pixels of kt bytes; output pixel m starts at m * stride pixels.
  const size_t C = c.kt, taps = c.kh * c.kw;
  const size_t Wp = (c.M - 1) * c.stride + (c.kw - 1) * c.dil + 1;
  const size_t Hp = (c.kh - 1) * c.dil + 1;
  const size_t lda = c.stride * C, K = taps * c.kt;
  std::vector<size_t> off;
  for (size_t i = 0; i < c.kh; ++i)
    for (size_t j = 0; j < c.kw; ++j) off.push_back((i * c.dil * Wp + j * c.dil) * C);
  Rng rng(c.seed);
  GuardedBuffer<uint8_t> A0(Hp * Wp * C);
  for (size_t i = 0; i < A0.size(); ++i) A0[i] = static_cast<uint8_t>(rng.uniform(0, 255));
  std::vector<uint8_t> A(c.M * K);
  for (size_t m = 0; m < c.M; ++m)
    for (size_t t = 0; t < taps; ++t)
      std::memcpy(&A[m * K + t * c.kt], &A0[m * lda + off[t]], c.kt);
  std::vector<int8_t> B(c.N * K);
  for (auto& b : B) b = static_cast<int8_t>(rng.uniform(-k.b_abs_max, b_hi));
  std::vector<int32_t> bias(c.N);
  std::vector<float> scale(c.N), bias_f(c.N);
  for (size_t n = 0; n < c.N; ++n) {
    bias[n] = rng.uniform(-100000, 100000);
    scale[n] = rng.uniformf(0.5f, 2.0f) * 150.0f / (static_cast<float>(K) * 300.f + 1.f);
    bias_f[n] = rng.uniformf(-3.f, 3.f);
  }
  AlignedBuffer pk(k.packed_size(c.N, K)), pr(ref.packed_size(c.N, K));
  k.pack(c.N, K, B.data(), K, pk.data());
  ref.pack(c.N, K, B.data(), K, pr.data());
  GemmU8S8Epilogue ep;
  ep.kind = c.kind;
  ep.a_zero_point = c.a_zp;
  ep.bias = bias.data();
  ep.scale = scale.data();
  ep.out_zero_point = c.out_zp;
  ep.qmin = c.qmin;
  ep.qmax = c.qmax;
  ep.bias_f32 = bias_f.data();
  const size_t esz = c.kind == Kind::kRequantU8 ? 1 : 4, ldc = c.N + 3;
  const size_t m0 = c.m0, m1 = c.m1 ? c.m1 : c.M, n0 = c.n0, n1 = c.n1 ? c.n1 : c.N;
  GuardedBuffer<uint8_t> Ck(c.M * ldc * esz), Cr(c.M * ldc * esz);
  std::memset(Ck.data(), 0xA5, Ck.size());
  std::memset(Cr.data(), 0xA5, Cr.size());
  k.run_taps(c.M, c.N, taps, c.kt, off.data(), A0.data(), lda, pk.data(), ep, Ck.data(), ldc, m0,
             m1, n0, n1);
  ref.run(c.M, c.N, K, A.data(), K, pr.data(), ep, Cr.data(), ldc, m0, m1, n0, n1);
  std::ostringstream d;
  d << k.name << " run_taps M=" << c.M << " N=" << c.N << " kt=" << c.kt << " taps=" << c.kh << "x"
    << c.kw << " dil=" << c.dil << " stride=" << c.stride
    << (c.kind == Kind::kRequantU8 ? " requant" : " dequant") << " a_zp=" << c.a_zp
    << " tile=[" << m0 << "," << m1 << ")x[" << n0 << "," << n1 << ")";
  for (size_t i = 0; i < Ck.size(); ++i) {
    if (Ck[i] == Cr[i]) continue;
    const size_t e = i / esz;
    QRT_EXPECT(false) << d.str() << ": first mismatch at m=" << e / ldc << " n=" << e % ldc;
    return false;
  }
  return true;
}

}  // namespace

QRT_TEST(Int8Gemm, TapsEqualGatheredReference) {
  const auto& all = qrt::kernels::gemm_u8s8_variants();
  const GemmU8S8Kernel& ref = *all.back();
  std::vector<std::string> names;
  size_t cases = 0;
  std::vector<const GemmU8S8Kernel*> ks;
  for (const GemmU8S8Kernel* k : all) {
    if (k->run_taps) ks.push_back(k);
    if (k->narrow && k->narrow->run_taps) ks.push_back(k->narrow);
  }
  for (const GemmU8S8Kernel* k : ks) {
    names.push_back(k->name);
    std::vector<TapCase> cs;
    for (size_t M : {3, 5, 12, 13, 25, 56})
      for (size_t kt : {4, 16, 64})
        cs.push_back({M, 64, kt, 3, 3, 1, 1});
    cs.push_back({7, 33, 12, 3, 3, 1, 1});          // kt / 4 = 3: only the one-group loop
    cs.push_back({17, 100, 20, 3, 3, 1, 2});        // stride 2, N tail past one panel
    cs.push_back({9, 16, 256, 3, 3, 1, 1});         // long per-tap K
    cs.push_back({9, 24, 100, 3, 3, 1, 1});         // taps straddling the AVX2 kernel's 256-k chunks
    cs.push_back({13, 64, 24, 7, 1, 1, 2});         // 7 row taps of 24 bytes (an RGB 7x7 stem)
    cs.push_back({11, 40, 8, 5, 5, 2, 1});          // 25 taps, dilation 2
    cs.push_back({14, 64, 32, 1, 7, 1, 1});         // a row of taps
    cs.push_back({6, 31, 28, 1, 1, 1, 3});          // one tap
    cs.push_back({8, 64, 64, 8, 8, 1, 1});          // 64 taps (kMaxGemmTaps)
    cs.push_back({10, 100, 452, 3, 3, 1, 1});       // K = 4068, 13 panels (8 + an odd 5)
    cs.push_back({9, 72, 516, 3, 3, 1, 2});         // K = 4644: long K, taps straddle 1024-k chunks
    cs.push_back({7, 136, 1024, 1, 5, 1, 1});       // K = 5120 in whole chunks, 17 panels
    TapCase z{30, 96, 16, 3, 3, 1, 1};
    z.a_zp = 255, z.out_zp = 128, z.qmin = 10, z.qmax = 200;
    cs.push_back(z);
    TapCase dq{20, 70, 16, 3, 3, 1, 1};
    dq.kind = Kind::kDequantF32, dq.a_zp = 128;
    cs.push_back(dq);
    TapCase t1{40, 200, 16, 3, 3, 1, 1};
    t1.m0 = 5, t1.m1 = 29, t1.n0 = 64, t1.n1 = 150;  // a tile: rows and columns inside
    cs.push_back(t1);
    uint64_t seed = 1;
    for (TapCase c : cs) {
      c.seed = seed++;
      check_taps(*k, ref, c);
      ++cases;
    }
  }
  std::printf("    TapsEqualGatheredReference covers: %s (%zu cases)\n",
              names.empty() ? "(no variant with run_taps on this CPU)" : join_names(names).c_str(),
              cases);
  if (names.empty()) QRT_SKIP("no gemm_u8s8 variant with run_taps runs on this CPU");
}
