// End-to-end through writer -> loader -> session for the dense/conv/pool/quant ops, against
// straightforward loops written here from the spec (docs/FORMAT.md quantization rules).
#include <cmath>
#include <random>

#include "harness.h"
#include "kernels/gemm_u8s8.h"
#include "ops/op_test_util.h"
#include "plan/planner.h"

using namespace qrt_test;
using qrt::TensorView;

namespace {

std::vector<float> randn(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// The spec's u8 output of an NHWC convolution at (oh, ow, o) of one image xb: input padded with
// its zero point, weights [O][KH][KW][C] with per-channel scales, bias int32, round half to even,
// clamped to [0, 255] (ReLU: the output zero point is the lower bound).
struct ConvSpec {
  int H, W, C, KH, KW, S, D, pt, pl;
  float xs, ys;
  int xz, yz;
  bool relu;
};
int conv_u8_spec_at(const ConvSpec& p, const uint8_t* xb, const int8_t* w, const int32_t* bias,
                    const float* wsc, int oh, int ow, int o) {
  int32_t acc = bias[o];
  for (int i = 0; i < p.KH; ++i)
    for (int j = 0; j < p.KW; ++j)
      for (int c = 0; c < p.C; ++c) {
        int ih = oh * p.S - p.pt + i * p.D, iw = ow * p.S - p.pl + j * p.D;
        int xv = (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) ? p.xz : xb[(ih * p.W + iw) * p.C + c];
        acc += (xv - p.xz) * w[((size_t(o) * p.KH + i) * p.KW + j) * p.C + c];
      }
  float r = float(acc) * float(double(p.xs) * wsc[o] / p.ys);
  r = std::min(std::max(r, float((p.relu ? p.yz : 0) - p.yz)), float(255 - p.yz));
  return p.yz + int(std::nearbyint(r));
}

}  // namespace

QRT_TEST(Runtime, DenseF32MatchesLoopsAndThreads) {
  const int M = 5, K = 37, N = 19;
  auto x = randn(M * K, 1), w = randn(N * K, 2), b = randn(N, 3);
  for (int threads : {1, 2, 3}) {
    ModelBuilder mb;
    int xi = mb.input("x", DType::kF32, {M, K});
    int wi = mb.constant_f32("w", {N, K}, w);
    int bi = mb.constant_f32("b", {N}, b);
    int yi = mb.value("y", DType::kF32);
    mb.node("Dense", {xi, wi, bi}, {yi}).attrs.push_back(ModelBuilder::attr_str("activation", "relu"));
    mb.output(yi);
    auto out = mb.run({{"x", TensorView::of(x.data(), {M, K})}}, threads);
    QRT_ASSERT(out.ok());
    const float* y = out.value()[0].data<float>();
    QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({M, N}));
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        double acc = b[n];
        for (int k = 0; k < K; ++k) acc += double(x[m * K + k]) * w[n * K + k];
        acc = std::max(acc, 0.0);
        QRT_EXPECT(std::fabs(y[m * N + n] - acc) < 1e-4 * (1 + std::fabs(acc))) << m << n << y[m * N + n] << acc;
      }
  }
}

QRT_TEST(Runtime, Conv2dU8MatchesSpecLoops) {
  // NHWC input, 3x3 kernel, pads (1,1,1,1), 4 output channels, ReLU. The small image takes the
  // whole-matrix im2col path; the large batch-2 image the fused per-block path, whose blocks
  // straddle the two images.
  struct Case { int NB, H, W, S; };
  for (Case cs : {Case{1, 7, 6, 2}, Case{2, 33, 37, 1}})
  for (int threads : {1, 2}) {
  const int NB = cs.NB, H = cs.H, W = cs.W, C = 5, O = 4, KH = 3, KW = 3, S = cs.S;
  std::mt19937 g(7);
  std::vector<uint8_t> x(size_t(NB) * H * W * C);
  for (auto& v : x) v = uint8_t(g() % 256);
  std::vector<int8_t> w(O * KH * KW * C);
  for (auto& v : w) v = int8_t(int(g() % 255) - 127);
  std::vector<int32_t> bias = {100, -50, 0, 7};
  const float xs = 0.02f, ys = 0.05f;
  const int xz = 120, yz = 30;
  std::vector<float> wsc = {0.01f, 0.02f, 0.005f, 0.03f};
  qrt::format::QuantParams wq;
  wq.axis = 0;
  wq.scales = wsc;
  wq.zero_points = {0, 0, 0, 0};
  ModelBuilder mb;
  int xi = mb.input("x", DType::kU8, {NB, H, W, C}, per_tensor(xs, xz));
  int wi = mb.constant<int8_t>("w", DType::kS8, {O, KH, KW, C}, w, wq);
  qrt::format::QuantParams bq;
  int bi = mb.constant<int32_t>("b", DType::kS32, {O}, bias, bq);
  int yi = mb.value("y", DType::kU8, per_tensor(ys, yz));
  auto& n = mb.node("Conv2d", {xi, wi, bi}, {yi});
  n.attrs = {ModelBuilder::attr_ints("strides", {S, S}), ModelBuilder::attr_ints("pads", {1, 1, 1, 1}),
             ModelBuilder::attr_str("activation", "relu")};
  mb.output(yi);
  auto out = mb.run({{"x", TensorView::of(x.data(), {NB, H, W, C})}}, threads);
  QRT_ASSERT(out.ok());
  const int OH = (H + 2 - KH) / S + 1, OW = (W + 2 - KW) / S + 1;
  QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({NB, OH, OW, O}));
  const ConvSpec spec{H, W, C, KH, KW, S, 1, 1, 1, xs, ys, xz, yz, true};
  for (int nb = 0; nb < NB; ++nb) {
  const uint8_t* y = out.value()[0].data<uint8_t>() + size_t(nb) * OH * OW * O;
  const uint8_t* xb = x.data() + size_t(nb) * H * W * C;
  for (int oh = 0; oh < OH; ++oh)
    for (int ow = 0; ow < OW; ++ow)
      for (int o = 0; o < O; ++o) {
        int q = conv_u8_spec_at(spec, xb, w.data(), bias.data(), wsc.data(), oh, ow, o);
        QRT_EXPECT_EQ(int(y[(oh * OW + ow) * O + o]), q) << "at" << nb << oh << ow << o << "threads" << threads;
      }
  }
  }
}

// Grouped u8 convolution (groups neither 1 nor depthwise: one im2col + GEMM per group, each
// writing its channel slice of the output), with a requantized u8 output and with a dequantized
// f32 output (the last layer of an int8 region, f32 bias): the f32 case once wrote group g's
// slice at byte offset g * og instead of g * og * 4 (silently wrong outputs, NaN bit patterns).
QRT_TEST(Runtime, Conv2dU8GroupedMatchesSpecLoops) {
  struct Case { int C, O, group, S; };
  for (Case cs : {Case{8, 8, 2, 1}, Case{8, 8, 4, 2}, Case{12, 6, 3, 1}, Case{16, 32, 4, 1}})
  for (bool f32_out : {false, true})
  for (int threads : {1, 2}) {
    const int NB = 2, H = 9, W = 7, KH = 3, KW = 3, S = cs.S, C = cs.C, O = cs.O;
    const int cg = C / cs.group, og = O / cs.group;
    std::mt19937 g(11);
    std::vector<uint8_t> x(size_t(NB) * H * W * C);
    for (auto& v : x) v = uint8_t(g() % 256);
    std::vector<int8_t> w(size_t(O) * KH * KW * cg);
    for (auto& v : w) v = int8_t(int(g() % 255) - 127);
    std::vector<float> wsc(O), bias_f(O);
    std::vector<int32_t> bias(O);
    for (int o = 0; o < O; ++o) {
      wsc[o] = 0.002f * float(1 + o % 5);
      bias[o] = int32_t(g() % 2001) - 1000;
      bias_f[o] = float(bias[o]) * 0.001f;
    }
    const float xs = 0.02f, ys = 0.5f;
    const int xz = 120, yz = 30;
    qrt::format::QuantParams wq;
    wq.axis = 0;
    wq.scales = wsc;
    wq.zero_points.assign(O, 0);
    ModelBuilder mb;
    int xi = mb.input("x", DType::kU8, {NB, H, W, C}, per_tensor(xs, xz));
    int wi = mb.constant<int8_t>("w", DType::kS8, {O, KH, KW, cg}, w, wq);
    int bi = f32_out ? mb.constant_f32("b", {O}, bias_f)
                     : mb.constant<int32_t>("b", DType::kS32, {O}, bias, qrt::format::QuantParams());
    int yi = f32_out ? mb.value("y", DType::kF32) : mb.value("y", DType::kU8, per_tensor(ys, yz));
    auto& n = mb.node("Conv2d", {xi, wi, bi}, {yi});
    n.attrs = {ModelBuilder::attr_ints("strides", {S, S}), ModelBuilder::attr_ints("pads", {1, 1, 1, 1}),
               ModelBuilder::attr_int("group", cs.group)};
    mb.output(yi);
    auto out = mb.run({{"x", TensorView::of(x.data(), {NB, H, W, C})}}, threads);
    QRT_ASSERT(out.ok());
    const int OH = (H + 2 - KH) / S + 1, OW = (W + 2 - KW) / S + 1;
    QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({NB, OH, OW, O}));
    size_t checked = 0;
    for (int nb = 0; nb < NB; ++nb)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow)
          for (int o = 0; o < O; ++o) {
            const int gi = o / og;
            int32_t acc = f32_out ? 0 : bias[o];
            for (int i = 0; i < KH; ++i)
              for (int j = 0; j < KW; ++j)
                for (int c = 0; c < cg; ++c) {
                  int ih = oh * S - 1 + i, iw = ow * S - 1 + j;
                  int xv = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                               ? xz : x[((size_t(nb) * H + ih) * W + iw) * C + gi * cg + c];
                  acc += (xv - xz) * w[((size_t(o) * KH + i) * KW + j) * cg + c];
                }
            const size_t at = ((size_t(nb) * OH + oh) * OW + ow) * O + o;
            if (f32_out) {
              const float sc = float(double(xs) * wsc[o]);
              const float ref = float(acc) * sc + bias_f[o];
              const float got = out.value()[0].data<float>()[at];
              QRT_EXPECT(std::fabs(got - ref) <= 1e-6f * (1 + std::fabs(ref)))
                  << "f32 out, C" << C << "O" << O << "group" << cs.group << "at" << at << got << ref;
            } else {
              float r = float(acc) * float(double(xs) * wsc[o] / ys);
              r = std::min(std::max(r, float(-yz)), float(255 - yz));
              QRT_EXPECT_EQ(int(out.value()[0].data<uint8_t>()[at]), yz + int(std::nearbyint(r)))
                  << "u8 out, C" << C << "O" << O << "group" << cs.group << "at" << at;
            }
            ++checked;
          }
    QRT_EXPECT_EQ(checked, size_t(NB) * OH * OW * O);
  }
}

// The implicit-GEMM path (gemm_u8s8 run_taps: a padded copy of the input read through tap
// offsets, one output row per call) against the spec loops, on geometries that take it (C % 4 ==
// 0, group 1, OW >= 24, small B): padding on every side or none (x read in place), asymmetric
// padding, stride 2, dilation, 5x5 and 1x3 windows, batch 2, OW = 24 and 23 (im2col), N tails;
// 1-3 threads; and the row-taps form for C % 4 != 0 (stems). Where the selected kernel has no
// run_taps, the same cases check the im2col paths.
QRT_TEST(Runtime, Conv2dU8ImplicitGemmMatchesSpecLoops) {
  struct Case { int NB, H, W, C, O, KH, KW, S, D, pt, pl, pb, pr; };
  const Case cases[] = {
      {1, 12, 26, 8, 40, 3, 3, 1, 1, 1, 1, 1, 1},   {2, 9, 50, 16, 70, 3, 3, 2, 1, 1, 1, 1, 1},
      {1, 10, 27, 4, 33, 3, 3, 1, 1, 0, 0, 0, 0},   {1, 13, 30, 12, 64, 5, 5, 1, 2, 2, 3, 1, 0},
      {1, 8, 24, 20, 17, 1, 3, 1, 1, 0, 1, 0, 1},   {1, 6, 24, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1},
      {1, 15, 56, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1},  {1, 9, 49, 32, 96, 3, 3, 2, 1, 0, 0, 1, 1},
      {1, 5, 23, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1},    // OW = 23: below the threshold, im2col
      // Row taps (C % 4 != 0): a 7x7 s2 RGB stem, a 3x3 s2 one, C = 5 and 6, a 1x5 row, and
      // OW = 2 (row-layout im2col below the implicit path's 3 pixels).
      {1, 20, 60, 3, 64, 7, 7, 2, 1, 3, 3, 3, 3},   {2, 9, 30, 3, 32, 3, 3, 2, 1, 1, 1, 1, 1},
      {1, 7, 27, 5, 20, 3, 3, 1, 1, 1, 1, 1, 1},    {1, 8, 9, 6, 40, 1, 5, 1, 1, 0, 2, 0, 2},
      {1, 6, 4, 3, 16, 3, 3, 1, 1, 0, 0, 0, 0},
  };
  const bool taps = qrt::kernels::select_gemm_u8s8().run_taps != nullptr;
  std::printf("    implicit GEMM (run_taps) %s on this CPU\n", taps ? "covered" : "not available");
  int idx = 0;
  for (const Case& cs : cases) {
    ++idx;
    std::mt19937 g(100 + idx);
    const int NB = cs.NB, H = cs.H, W = cs.W, C = cs.C, O = cs.O, KH = cs.KH, KW = cs.KW, S = cs.S, D = cs.D;
    std::vector<uint8_t> x(size_t(NB) * H * W * C);
    for (auto& v : x) v = uint8_t(g() % 256);
    std::vector<int8_t> w(size_t(O) * KH * KW * C);
    for (auto& v : w) v = int8_t(int(g() % 256) - 128);
    std::vector<int32_t> bias(O);
    std::vector<float> wsc(O);
    for (int o = 0; o < O; ++o) bias[o] = int(g() % 20001) - 10000, wsc[o] = 0.002f + 0.001f * float(o % 7);
    const float xs = 0.02f, ys = 0.3f;
    const int xz = (37 + idx * 20) % 256, yz = 100;
    qrt::format::QuantParams wq;
    wq.axis = 0;
    wq.scales = wsc;
    wq.zero_points.assign(O, 0);
    ModelBuilder mb;
    int xi = mb.input("x", DType::kU8, {NB, H, W, C}, per_tensor(xs, xz));
    int wi = mb.constant<int8_t>("w", DType::kS8, {O, KH, KW, C}, w, wq);
    qrt::format::QuantParams bq;
    int bi = mb.constant<int32_t>("b", DType::kS32, {O}, bias, bq);
    int yi = mb.value("y", DType::kU8, per_tensor(ys, yz));
    auto& n = mb.node("Conv2d", {xi, wi, bi}, {yi});
    n.attrs = {ModelBuilder::attr_ints("strides", {S, S}), ModelBuilder::attr_ints("dilations", {D, D}),
               ModelBuilder::attr_ints("pads", {cs.pt, cs.pl, cs.pb, cs.pr})};
    mb.output(yi);
    const int OH = (H + cs.pt + cs.pb - ((KH - 1) * D + 1)) / S + 1;
    const int OW = (W + cs.pl + cs.pr - ((KW - 1) * D + 1)) / S + 1;
    for (int threads : {1, 2, 3}) {
      auto out = mb.run({{"x", TensorView::of(x.data(), {NB, H, W, C})}}, threads);
      if (!out.ok()) std::printf("case %d: %s\n", idx, out.status().message().c_str());
      QRT_ASSERT(out.ok());
      QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({NB, OH, OW, O}));
      const ConvSpec spec{H, W, C, KH, KW, S, D, cs.pt, cs.pl, xs, ys, xz, yz, false};
      int bad = 0;
      for (int nb = 0; nb < NB && !bad; ++nb) {
        const uint8_t* y = out.value()[0].data<uint8_t>() + size_t(nb) * OH * OW * O;
        const uint8_t* xb = x.data() + size_t(nb) * H * W * C;
        for (int oh = 0; oh < OH; ++oh)
          for (int ow = 0; ow < OW; ++ow)
            for (int o = 0; o < O; ++o) {
              const int q = conv_u8_spec_at(spec, xb, w.data(), bias.data(), wsc.data(), oh, ow, o);
              if (int(y[(size_t(oh) * OW + ow) * O + o]) != q && bad++ == 0)
                QRT_EXPECT(false) << "case " << idx << " threads " << threads << " at n=" << nb
                                  << " oh=" << oh << " ow=" << ow << " o=" << o << ": got "
                                  << int(y[(size_t(oh) * OW + ow) * O + o]) << " want " << q;
            }
      }
    }
  }
}

QRT_TEST(Runtime, InputValidationErrors) {
  ModelBuilder mb;
  int xi = mb.input("x", DType::kF32, {-1, 4});
  int wi = mb.constant_f32("w", {2, 4}, std::vector<float>(8, 1.f));
  int yi = mb.value("y", DType::kF32);
  mb.node("Dense", {xi, wi}, {yi});
  mb.output(yi);
  auto model = mb.load();
  QRT_ASSERT(model.ok());
  auto sess = qrt::Session::create(model.value());
  QRT_ASSERT(sess.ok());
  std::vector<float> x(12);
  auto r1 = sess.value()->run({{"x", TensorView::of(x.data(), {3, 5})}});
  QRT_EXPECT(!r1.ok() && r1.status().message().find("dimension 1 must be 4") != std::string::npos) << r1.status().message();
  auto r2 = sess.value()->run({{"nope", TensorView::of(x.data(), {3, 4})}});
  QRT_EXPECT(!r2.ok() && r2.status().message().find("unknown input 'nope'") != std::string::npos);
  auto r3 = sess.value()->run({});
  QRT_EXPECT(!r3.ok() && r3.status().message().find("missing input 'x'") != std::string::npos);
  std::vector<int32_t> xi32(12);
  auto r4 = sess.value()->run({{"x", TensorView::of(xi32.data(), {3, 4})}});
  QRT_EXPECT(!r4.ok() && r4.status().code() == qrt::StatusCode::kInvalidArgument);
  // Varying batch sizes: plans are cached with a bound, results stay right.
  for (int batch : {1, 3, 2, 7, 1, 5, 9, 3}) {
    std::vector<float> xb(batch * 4, 1.f);
    auto r = sess.value()->run({{"x", TensorView::of(xb.data(), {batch, 4})}});
    QRT_ASSERT(r.ok());
    QRT_EXPECT(r.value()[0].shape == std::vector<int64_t>({batch, 2}));
    QRT_EXPECT(r.value()[0].data<float>()[0] == 4.f);
  }
}

QRT_TEST(Runtime, UnsupportedOpsAreListedTogether) {
  ModelBuilder mb;
  int xi = mb.input("x", DType::kF32, {2});
  int a = mb.value("a", DType::kF32);
  int b = mb.value("b", DType::kF32);
  mb.node("FancyOp", {xi}, {a}, "first");
  mb.node("OtherOp", {a}, {b}, "second");
  mb.output(b);
  auto m = mb.load();
  QRT_ASSERT(!m.ok());
  QRT_EXPECT(m.status().code() == qrt::StatusCode::kUnsupported);
  QRT_EXPECT(m.status().message().find("FancyOp") != std::string::npos &&
             m.status().message().find("OtherOp (version 1, node 'second')") != std::string::npos)
      << m.status().message();
}

QRT_TEST(Planner, RandomIntervalsNeverOverlapAndRespectBounds) {
  std::mt19937 g(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<qrt::plan::Buffer> bufs(1 + g() % 40);
    for (auto& b : bufs) {
      b.first = int(g() % 30);
      b.last = b.first + int(g() % 10);
      b.size = g() % 5000;
    }
    auto p = qrt::plan::greedy_plan(bufs);
    QRT_EXPECT(qrt::plan::validate(bufs, p).empty()) << qrt::plan::validate(bufs, p);
    QRT_EXPECT(qrt::plan::lower_bound(bufs) <= p.arena_size);
    QRT_EXPECT(p.arena_size <= qrt::plan::naive_size(bufs));
  }
  // A chain a->b->c->d: two buffers alive at a time, arena = the two largest neighbours.
  std::vector<qrt::plan::Buffer> chain = {{640, 0, 1}, {128, 1, 2}, {640, 2, 3}, {64, 3, 4}};
  auto p = qrt::plan::greedy_plan(chain);
  QRT_EXPECT_EQ(p.arena_size, size_t(768));
  QRT_EXPECT_EQ(qrt::plan::lower_bound(chain), size_t(768));
  // MobileNetV2's head with its input and blocks fused: largest-first (1003520), first-use
  // (953344) and longest-lived-first (1003520) all miss the bound; breadth order reaches it.
  std::vector<qrt::plan::Buffer> head = {
      {150528, 0, 1}, {401408, 1, 2}, {401408, 2, 3}, {200704, 3, 4}, {301056, 4, 5}};
  auto ph = qrt::plan::greedy_plan(head);
  QRT_EXPECT(qrt::plan::validate(head, ph).empty());
  QRT_EXPECT_EQ(qrt::plan::lower_bound(head), size_t(802816));
  QRT_EXPECT_EQ(ph.arena_size, size_t(802816));
}

namespace {
// Float NHWC conv reference over any group count.
std::vector<float> conv_ref(const std::vector<float>& x, int N, int H, int W, int C,
                            const std::vector<float>& w, int O, int KH, int KW, int group,
                            const std::vector<float>& b, int S, int P, int D, int* OH, int* OW) {
  *OH = (H + 2 * P - (KH - 1) * D - 1) / S + 1;
  *OW = (W + 2 * P - (KW - 1) * D - 1) / S + 1;
  int cg = C / group, og = O / group;
  std::vector<float> y(size_t(N) * *OH * *OW * O);
  for (int n = 0; n < N; ++n)
    for (int oh = 0; oh < *OH; ++oh)
      for (int ow = 0; ow < *OW; ++ow)
        for (int o = 0; o < O; ++o) {
          double acc = b[o];
          int g = o / og;
          for (int i = 0; i < KH; ++i)
            for (int j = 0; j < KW; ++j)
              for (int c = 0; c < cg; ++c) {
                int ih = oh * S - P + i * D, iw = ow * S - P + j * D;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += double(x[((n * H + ih) * W + iw) * C + g * cg + c]) *
                       w[((o * KH + i) * KW + j) * cg + c];
              }
          y[((n * *OH + oh) * *OW + ow) * O + o] = float(acc);
        }
  return y;
}
}  // namespace

QRT_TEST(Runtime, Conv2dF32GroupedAndDepthwiseMatchReference) {
  // The im2col cases: grouped (C = 6, 2 groups), the fused blocks of 256 rows crossing images
  // (N = 2, 33 x 37), a 7 x 7 stride-2 RGB stem (kernel rows copied whole, 84 bytes), dilation 2
  // (taps copied one by one), and 5-channel pixels (20 bytes: byte runs of no natural width).
  struct Case { int N, H, W, C, O, K, group, S, P, D = 1; };
  for (Case cs : {Case{2, 9, 7, 6, 6, 3, 6, 1, 1}, Case{1, 8, 8, 6, 6, 5, 6, 2, 2},
                  Case{1, 6, 5, 6, 4, 3, 2, 1, 0}, Case{1, 5, 5, 3, 8, 1, 1, 1, 0},
                  Case{1, 11, 10, 3, 5, 3, 1, 2, 1}, Case{2, 33, 37, 5, 7, 3, 1, 1, 1},
                  Case{1, 67, 61, 3, 20, 7, 1, 2, 3}, Case{2, 40, 39, 8, 9, 3, 1, 1, 2, 2},
                  Case{1, 12, 13, 6, 10, 3, 2, 1, 1, 2}}) {
    int cg = cs.C / cs.group;
    auto x = randn(size_t(cs.N) * cs.H * cs.W * cs.C, 11);
    auto w = randn(size_t(cs.O) * cs.K * cs.K * cg, 12);
    auto b = randn(cs.O, 13);
    ModelBuilder mb;
    int xi = mb.input("x", DType::kF32, {cs.N, cs.H, cs.W, cs.C});
    int wi = mb.constant_f32("w", {cs.O, cs.K, cs.K, cg}, w);
    int bi = mb.constant_f32("b", {cs.O}, b);
    int yi = mb.value("y", DType::kF32);
    auto& n = mb.node("Conv2d", {xi, wi, bi}, {yi});
    n.attrs = {ModelBuilder::attr_ints("strides", {cs.S, cs.S}),
               ModelBuilder::attr_ints("pads", {cs.P, cs.P, cs.P, cs.P}),
               ModelBuilder::attr_ints("dilations", {cs.D, cs.D}),
               ModelBuilder::attr_int("group", cs.group)};
    mb.output(yi);
    auto out = mb.run({{"x", TensorView::of(x.data(), {cs.N, cs.H, cs.W, cs.C})}}, 2);
    QRT_ASSERT(out.ok());
    int OH, OW;
    auto ref = conv_ref(x, cs.N, cs.H, cs.W, cs.C, w, cs.O, cs.K, cs.K, cs.group, b, cs.S, cs.P, cs.D, &OH, &OW);
    QRT_EXPECT(out.value()[0].shape == std::vector<int64_t>({cs.N, OH, OW, cs.O}));
    const float* y = out.value()[0].data<float>();
    for (size_t i = 0; i < ref.size(); ++i)
      QRT_EXPECT(std::fabs(y[i] - ref[i]) < 1e-4f * (1 + std::fabs(ref[i])))
          << "case C=" << cs.C << "K=" << cs.K << "D=" << cs.D << "group=" << cs.group << "i=" << i << y[i] << ref[i];
  }
}
