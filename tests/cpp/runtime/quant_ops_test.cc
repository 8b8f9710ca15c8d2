// u8 pooling and quantized Add/Mul through the runtime, against loops written from the specs in
// kernels/pool_u8.h and kernels/qelementwise_u8.h (the ops must pass parameters through right).
#include <cmath>
#include <random>

#include "harness.h"
#include "kernels/vmath.h"
#include "ops/op_test_util.h"

using namespace qrt_test;
using qrt::TensorView;

namespace {
std::vector<uint8_t> rand_u8(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = uint8_t(g() % 256);
  return v;
}
uint8_t requant(float r, int zo, int qmin = 0, int qmax = 255) {
  r = std::min(std::max(r, float(qmin - zo)), float(qmax - zo));
  return uint8_t(zo + int(std::nearbyint(r)));
}
}  // namespace

QRT_TEST(QuantOps, PoolsU8MatchSpec) {
  const int N = 2, H = 7, W = 6, C = 19, K = 3, S = 2, P = 1;
  auto x = rand_u8(size_t(N) * H * W * C, 5);
  const float si = 0.04f, so = 0.05f;
  const int zi = 100, zo = 90;
  for (const char* op : {"MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"}) {
    for (int include_pad : {0, 1}) {
      bool is_max = std::string(op) == "MaxPool2d", global = std::string(op) == "GlobalAvgPool2d";
      if ((is_max || global) && include_pad) continue;
      ModelBuilder mb;
      int xi = mb.input("x", DType::kU8, {N, H, W, C}, per_tensor(si, zi));
      int yi = mb.value("y", DType::kU8, is_max ? per_tensor(si, zi) : per_tensor(so, zo));
      auto& n = mb.node(op, {xi}, {yi});
      if (!global)
        n.attrs = {ModelBuilder::attr_ints("kernel", {K, K}), ModelBuilder::attr_ints("strides", {S, S}),
                   ModelBuilder::attr_ints("pads", {P, P, P, P}),
                   ModelBuilder::attr_int("count_include_pad", include_pad)};
      mb.output(yi);
      auto out = mb.run({{"x", TensorView::of(x.data(), {N, H, W, C})}}, 2);
      QRT_ASSERT(out.ok());
      const int OH = global ? 1 : (H + 2 * P - K) / S + 1, OW = global ? 1 : (W + 2 * P - K) / S + 1;
      QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({N, OH, OW, C}));
      const uint8_t* y = out.value()[0].data<uint8_t>();
      for (int b = 0; b < N; ++b)
        for (int oh = 0; oh < OH; ++oh)
          for (int ow = 0; ow < OW; ++ow)
            for (int c = 0; c < C; ++c) {
              int kh = global ? H : K, kw = global ? W : K, s = global ? 1 : S, p = global ? 0 : P;
              int mx = 0, sum = 0, cnt = 0;
              for (int i = 0; i < kh; ++i)
                for (int j = 0; j < kw; ++j) {
                  int ih = oh * s - p + i, iw = ow * s - p + j;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  int v = x[((b * H + ih) * W + iw) * C + c];
                  mx = std::max(mx, v);
                  sum += v - zi;
                  ++cnt;
                }
              int div = include_pad ? kh * kw : cnt;
              uint8_t want = is_max ? uint8_t(mx) : requant((float(sum) / float(div)) * (si / so), zo);
              QRT_EXPECT_EQ(int(y[((b * OH + oh) * OW + ow) * C + c]), int(want))
                  << op << "pad" << include_pad << "at" << b << oh << ow << c;
            }
    }
  }
}

QRT_TEST(QuantOps, AddMulU8SameShapeScalarAndBroadcast) {
  const float sa = 0.03f, sb = 0.07f, so = 0.05f;
  const int za = 120, zb = 10, zo = 128;
  struct Case { std::vector<int64_t> a, b; };
  for (const char* op : {"Add", "Mul"}) {
    for (Case cs : {Case{{2, 3, 70}, {2, 3, 70}}, Case{{2, 3, 70}, {1}}, Case{{1}, {4, 33}},
                    Case{{2, 3, 5}, {3, 1}}, Case{{4, 1, 6}, {1, 5, 6}}}) {
      size_t na = 1, nb = 1;
      for (auto d : cs.a) na *= size_t(d);
      for (auto d : cs.b) nb *= size_t(d);
      auto a = rand_u8(na, 1), b = rand_u8(nb, 2);
      ModelBuilder mb;
      int ai = mb.input("a", DType::kU8, cs.a, per_tensor(sa, za));
      int bi = mb.input("b", DType::kU8, cs.b, per_tensor(sb, zb));
      int yi = mb.value("y", DType::kU8, per_tensor(so, zo));
      mb.node(op, {ai, bi}, {yi});
      mb.output(yi);
      auto out = mb.run({{"a", TensorView::of(a.data(), cs.a)}, {"b", TensorView::of(b.data(), cs.b)}});
      QRT_ASSERT(out.ok());
      const auto& ys = out.value()[0].shape;
      const uint8_t* y = out.value()[0].data<uint8_t>();
      size_t n = out.value()[0].nbytes, r = ys.size();
      for (size_t i = 0; i < n; ++i) {
        // Index of a and b for output element i (numpy broadcasting).
        size_t rem = i, ia = 0, ib = 0, sa_ = 1, sb_ = 1;
        for (size_t d = r; d-- > 0;) {
          size_t coord = rem % size_t(ys[d]);
          rem /= size_t(ys[d]);
          size_t da = d + cs.a.size() >= r ? size_t(cs.a[d + cs.a.size() - r]) : 1;
          size_t db = d + cs.b.size() >= r ? size_t(cs.b[d + cs.b.size() - r]) : 1;
          ia += (da == 1 ? 0 : coord) * sa_;
          ib += (db == 1 ? 0 : coord) * sb_;
          sa_ *= da;
          sb_ *= db;
        }
        float va = float(a[ia] - za), vb = float(b[ib] - zb);
        float rr = std::string(op) == "Add" ? va * (sa / so) + vb * (sb / so)
                                            : float((a[ia] - za) * (b[ib] - zb)) * (sa * sb / so);
        QRT_EXPECT_EQ(int(y[i]), int(requant(rr, zo))) << op << "element" << i;
      }
    }
  }
}

QRT_TEST(QuantOps, ReluU8SameAndRequantized) {
  auto x = rand_u8(300, 9);
  for (bool same : {true, false}) {
    const float si = 0.1f, so = same ? 0.1f : 0.07f;
    const int zi = 77, zo = same ? 77 : 3;
    ModelBuilder mb;
    int xi = mb.input("x", DType::kU8, {3, 100}, per_tensor(si, zi));
    int yi = mb.value("y", DType::kU8, per_tensor(so, zo));
    mb.node("Relu", {xi}, {yi});
    mb.output(yi);
    auto out = mb.run({{"x", TensorView::of(x.data(), {3, 100})}});
    QRT_ASSERT(out.ok());
    const uint8_t* y = out.value()[0].data<uint8_t>();
    for (size_t i = 0; i < x.size(); ++i) {
      int want = same ? std::max<int>(x[i], zi)
                      : requant(float(std::max(int(x[i]) - zi, 0)) * (si / so), zo);
      QRT_EXPECT_EQ(int(y[i]), want) << "same" << same << "i" << i;
    }
  }
}

// AffineQuantize is Gelu -> Sub(shift) -> Mul(mul) -> QuantizeLinear in one op (each step optional):
// its output must equal the separate ops' bit for bit (with activation "gelu" on a CPU whose vmath
// has gelu_q: within one step, on at most 0.1 % of the bytes), on rows longer than its 1024-float
// piece, on tensors large enough to split across threads, and on NaN / Inf / rounding-tie inputs.
QRT_TEST(QuantOps, AffineQuantizeEqualsGeluSubMulQuantizeChain) {
  const float s = 0.037f;
  const int zp = 131;
  for (std::vector<int64_t> shape : {std::vector<int64_t>{1, 1}, {3, 17}, {2, 5, 384}, {2, 1100},
                                     {70, 1000}, {5}})
    for (const char* act : {"none", "gelu", "gelu_tanh"})
      for (bool affine : {true, false}) {
        const int64_t C = shape.back();
        size_t n = 1;
        for (auto d : shape) n *= size_t(d);
        std::mt19937 g(uint32_t(n + C));
        std::normal_distribution<float> nd(0.f, 3.f);
        std::vector<float> x(n), shift(static_cast<size_t>(C)), mul(static_cast<size_t>(C));
        for (auto& v : x) v = nd(g);
        for (auto& v : shift) v = nd(g);
        for (auto& v : mul) v = std::fabs(nd(g)) + 0.01f;
        const float specials[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, -0.f, 0.5f * s, 1.5f * s, 2.5f * s};
        for (size_t i = 0; i < n && i < 9; ++i) x[i * 7 % n] = specials[i];
        const bool gelu = std::string(act) != "none";
        for (int threads : {1, 2}) {
          ModelBuilder fused, chain;
          {
            int xi = fused.input("x", DType::kF32, shape);
            std::vector<int> ins = {xi};
            if (affine) ins.push_back(fused.constant_f32("z", {C}, shift)), ins.push_back(fused.constant_f32("m", {C}, mul));
            int yi = fused.value("y", DType::kU8, per_tensor(s, zp));
            fused.node("AffineQuantize", ins, {yi}).attrs.push_back(ModelBuilder::attr_str("activation", act));
            fused.output(yi);
          }
          {
            int cur = chain.input("x", DType::kF32, shape);
            if (gelu) {
              int gi = chain.value("g", DType::kF32);
              chain.node("Gelu", {cur}, {gi}).attrs.push_back(
                  ModelBuilder::attr_str("approximate", std::string(act) == "gelu" ? "none" : "tanh"));
              cur = gi;
            }
            if (affine) {
              int zi = chain.constant_f32("z", {C}, shift), mi = chain.constant_f32("m", {C}, mul);
              int t = chain.value("t", DType::kF32), u = chain.value("u", DType::kF32);
              chain.node("Sub", {cur, zi}, {t});
              chain.node("Mul", {t, mi}, {u});
              cur = u;
            }
            int yi = chain.value("y", DType::kU8, per_tensor(s, zp));
            chain.node("QuantizeLinear", {cur}, {yi});
            chain.output(yi);
          }
          auto a = fused.run({{"x", TensorView::of(x.data(), shape)}}, threads);
          auto b = chain.run({{"x", TensorView::of(x.data(), shape)}}, threads);
          QRT_ASSERT(a.ok());
          QRT_ASSERT(b.ok());
          QRT_EXPECT(a.value()[0].shape == shape);
          const uint8_t* ya = a.value()[0].data<uint8_t>();
          const uint8_t* yb = b.value()[0].data<uint8_t>();
          size_t bad = 0, off_by_more = 0;
          for (size_t i = 0; i < n; ++i) {
            bad += ya[i] != yb[i];
            off_by_more += std::abs(int(ya[i]) - int(yb[i])) > 1;
          }
          if (std::string(act) == "gelu" && qrt::kernels::select_vmath().gelu_q) {
            // gelu_q (|error| <= 2e-6) instead of the Gelu op's kernel: a byte may differ by one
            // where the chain's quotient lies within ~2e-6 / s of a rounding boundary.
            QRT_EXPECT_EQ(off_by_more, size_t(0)) << "affine" << affine << "C" << C;
            QRT_EXPECT(bad <= n / 1000 + 2) << bad << " of " << n << " bytes differ, affine" << affine;
          } else {
            QRT_EXPECT_EQ(bad, size_t(0)) << act << "affine" << affine << "C" << C << "threads" << threads;
          }
        }
      }
}

QRT_TEST(QuantOps, AffineQuantizeRefusesBadShapesAndDtypes) {
  std::vector<float> x(12, 1.f), v3(3, 1.f), v4(4, 1.f);
  {  // shift of the wrong length
    ModelBuilder mb;
    int xi = mb.input("x", DType::kF32, {3, 4});
    int zi = mb.constant_f32("z", {3}, v3), mi = mb.constant_f32("m", {4}, v4);
    int yi = mb.value("y", DType::kU8, per_tensor(0.1f, 0));
    mb.node("AffineQuantize", {xi, zi, mi}, {yi});
    mb.output(yi);
    auto r = mb.run({{"x", TensorView::of(x.data(), {3, 4})}});
    QRT_ASSERT(!r.ok());
    QRT_EXPECT(r.status().message().find("shift must have shape [4]") != std::string::npos);
  }
  {  // unknown activation
    ModelBuilder mb;
    int xi = mb.input("x", DType::kF32, {3, 4});
    int yi = mb.value("y", DType::kU8, per_tensor(0.1f, 0));
    mb.node("AffineQuantize", {xi}, {yi}).attrs.push_back(ModelBuilder::attr_str("activation", "relu"));
    mb.output(yi);
    auto r = mb.run({{"x", TensorView::of(x.data(), {3, 4})}});
    QRT_ASSERT(!r.ok());
    QRT_EXPECT(r.status().message().find("activation must be") != std::string::npos);
  }
  {  // s8 output
    ModelBuilder mb;
    int xi = mb.input("x", DType::kF32, {3, 4});
    int zi = mb.constant_f32("z", {4}, v4), mi = mb.constant_f32("m", {4}, v4);
    int yi = mb.value("y", DType::kS8, per_tensor(0.1f, 0));
    mb.node("AffineQuantize", {xi, zi, mi}, {yi});
    mb.output(yi);
    auto r = mb.run({{"x", TensorView::of(x.data(), {3, 4})}});
    QRT_ASSERT(!r.ok());
    QRT_EXPECT(r.status().message().find("output must be u8") != std::string::npos);
  }
}
