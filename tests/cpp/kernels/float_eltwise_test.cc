// Elementwise row kernels (kernels/eltwise_f32.h): every variant equals the scalar reference bit
// for bit (binary ops: one IEEE rounding per element; transposes: bit copies) on awkward sizes,
// in place, and never writes outside the described elements. Plus the Transpose op's 2-D path
// (NCHW <-> NHWC, batched last-two-dims swaps) against a naive permutation.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "harness.h"
#include "kernels/eltwise_f32.h"
#include "kernels/gemm_f32.h"
#include "ops/op_test_util.h"

using namespace qrt::kernels;

QRT_TEST(FloatEltwise, BinaryVariantsEqualReference) {
  std::mt19937 g(5);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  const auto& vars = eltwise_f32_variants();
  for (size_t n : {0, 1, 7, 15, 16, 17, 63, 64, 65, 100, 1000}) {
    std::vector<float> a(n + 1), b(n + 1);
    for (float& x : a) x = u(g);
    for (float& x : b) x = u(g);
    b[0] = b[0] == 0.f ? 1.f : b[0];
    for (int op = 0; op < 4; ++op)
      for (size_t sa : {0, 1})
        for (size_t sb : {0, 1}) {
          std::vector<float> want(n + 2, -9.f);
          vars.back()->binary[op](a.data(), sa, b.data(), sb, want.data(), n);
          for (const EltwiseF32Kernels* k : vars) {
            std::vector<float> got(n + 2, -9.f);
            k->binary[op](a.data(), sa, b.data(), sb, got.data(), n);
            QRT_EXPECT(std::memcmp(got.data(), want.data(), got.size() * 4) == 0)
                << k->name << " op " << op << " n " << n << " sa " << sa << " sb " << sb;
            if (sa) {  // in place over a
              std::vector<float> y(a);
              k->binary[op](y.data(), 1, b.data(), sb, y.data(), n);
              QRT_EXPECT(std::memcmp(y.data(), want.data(), n * 4) == 0) << k->name << " in place";
            }
          }
        }
  }
}

QRT_TEST(FloatEltwise, TransposeVariantsEqualReference) {
  const auto& vars = eltwise_f32_variants();
  struct C { size_t rows, cols; };
  for (C c : {C{1, 1}, C{3, 1000}, C{1000, 3}, C{16, 16}, C{17, 33}, C{64, 64}, C{65, 130},
              C{200, 7}, C{31, 96}, C{3, 7}, C{3, 16}, C{3, 47}, C{3, 50176}})
  for (size_t pad : {2, 0}) {  // ldd == rows: the interleaving fast path for 3 rows
    const size_t lds = c.cols + 3, ldd = c.rows + pad;
    std::vector<uint32_t> src(c.rows * lds);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint32_t>(i * 2654435761u);
    for (const EltwiseF32Kernels* k : vars) {
      std::vector<uint32_t> dst(c.cols * ldd, 0xdeadbeefu);
      k->transpose32(src.data(), lds, c.rows, c.cols, dst.data(), ldd);
      int bad = 0;
      for (size_t j = 0; j < c.cols; ++j)
        for (size_t r = 0; r < ldd; ++r) {
          uint32_t want = r < c.rows ? src[r * lds + j] : 0xdeadbeefu;
          if (dst[j * ldd + r] != want && bad++ < 3)
            QRT_EXPECT(false) << k->name << " " << c.rows << "x" << c.cols << " ldd " << ldd
                              << " at [" << j << "][" << r << "]";
        }
    }
  }
}

// widen_f16: every variant, all 65536 half bit patterns (bit-exact; NaNs only need to stay NaN:
// F16C quiets signalling ones), then
// lengths 0-40 at odd offsets with a guard after n (tails never write past n).
QRT_TEST(FloatEltwise, WidenF16VariantsExact) {
  using namespace qrt::kernels;
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  for (const EltwiseF32Kernels* k : eltwise_f32_variants()) {
    std::vector<float> y(all.size());
    k->widen_f16(all.data(), y.data(), all.size());
    size_t bad = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const float w = f16_to_f32(all[i]);
      uint32_t a, b;
      std::memcpy(&a, &y[i], 4);
      std::memcpy(&b, &w, 4);
      const bool ok = std::isnan(w) ? std::isnan(y[i]) : a == b;
      if (!ok && bad++ < 3) QRT_EXPECT(false) << k->name << " half 0x" << std::hex << i << std::dec;
    }
    for (size_t n = 0; n <= 40; ++n) {
      std::vector<float> out(n + 3, -7.f);
      k->widen_f16(all.data() + 1001, out.data() + 1, n);
      QRT_EXPECT(out[0] == -7.f && out[n + 1] == -7.f && out[n + 2] == -7.f) << k->name << " n=" << n;
      for (size_t i = 0; i < n; ++i)
        QRT_EXPECT(out[i + 1] == f16_to_f32(all[1001 + i])) << k->name << " n=" << n << " i=" << i;
    }
  }
}

QRT_TEST(FloatEltwise, TransposeOp2DPath) {
  using qrt_test::ModelBuilder;
  struct C { std::vector<int64_t> shape, perm; };
  const std::vector<C> cases = {{{1, 3, 224, 224}, {0, 2, 3, 1}},   // NCHW -> NHWC
                                {{2, 17, 9, 40}, {0, 3, 1, 2}},     // NHWC -> NCHW
                                {{2, 5, 12, 32}, {0, 2, 3, 1}},     // [B,S,H,D] -> [B,H,D,S]
                                {{3, 70, 50}, {0, 2, 1}},
                                {{4, 6, 8, 10}, {1, 0, 3, 2}}};
  for (const C& c : cases)
    for (int threads : {1, 2}) {
      size_t n = 1;
      for (int64_t d : c.shape) n *= static_cast<size_t>(d);
      std::vector<float> x(n);
      for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
      ModelBuilder b;
      int xi = b.input("x", qrt::format::DType::kF32, c.shape);
      int y = b.value("y", qrt::format::DType::kF32);
      b.node("Transpose", {xi}, {y}).attrs.push_back(ModelBuilder::attr_ints("perm", c.perm));
      b.output(y);
      auto out = b.run({{"x", qrt::TensorView::of(x.data(), c.shape)}}, threads);
      QRT_ASSERT(out.ok());
      const float* got = out.value()[0].data<float>();
      const size_t r = c.shape.size();
      std::vector<int64_t> os(r), ist(r, 1), ost(r, 1);
      for (size_t i = 0; i < r; ++i) os[i] = c.shape[c.perm[i]];
      for (size_t i = r - 1; i-- > 0;) {
        ist[i] = ist[i + 1] * c.shape[i + 1];
        ost[i] = ost[i + 1] * os[i + 1];
      }
      int bad = 0;
      for (size_t o = 0; o < n && bad < 3; ++o) {
        size_t q = o, src = 0;
        for (size_t i = 0; i < r; ++i) {
          size_t idx = q / ost[i];
          q %= ost[i];
          src += idx * ist[c.perm[i]];
        }
        if (got[o] != x[src]) {
          ++bad;
          QRT_EXPECT(false) << "perm case rank " << r << " at " << o;
        }
      }
    }
}
