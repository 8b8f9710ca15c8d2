// Load-time fusion (ops/fusion.h). A 1x1 int8 Conv2d into the int8 depthwise Conv2d that alone
// reads its output (ops/conv2d.cc, ExpandDwOp): the fused model must give the same bytes as one op
// per node, on awkward geometries (odd sizes, batch > 1, strides, padding, dilation, 5x5, channel
// counts off every SIMD width), at 1-3 threads; and the pass must leave alone what it may not
// fuse. Then the same for an f32 Transpose into a QuantizeLinear to u8 (at the end).
#include <random>
#include <string>

#include "harness.h"
#include "ops/op_test_util.h"

using namespace qrt_test;
using qrt::TensorView;

namespace {

// Runs `s` with output buffers pre-filled with 0xA5, so a byte the run never writes shows up
// (a plain run's output could reuse the freed buffer of the previous run, bytes included).
// Returns the bytes of output 0.
std::vector<uint8_t> run_poisoned(qrt::Session& s, const std::vector<TensorView>& in,
                                  std::vector<int64_t>* shape0) {
  std::vector<std::vector<uint8_t>> bufs(s.model().outputs().size());
  auto st = s.run_with(in, [&](size_t j, qrt::ElementType dt, const std::vector<int64_t>& sh) -> void* {
    size_t n = qrt::element_size(dt);
    for (int64_t d : sh) n *= size_t(d);
    bufs[j].assign(n + 1, 0xA5);
    if (j == 0) *shape0 = sh;
    return bufs[j].data();
  });
  QRT_EXPECT(st.ok()) << st.message();
  if (!st.ok() || bufs.empty() || bufs[0].empty()) return {};
  bufs[0].pop_back();
  return bufs[0];
}

// A session over the model built by `mb`, with load-time fusion on or off (null on error).
std::unique_ptr<qrt::Session> session_for(ModelBuilder& mb, int threads, bool fuse) {
  qrt::LoadOptions lo;
  lo.fuse_ops = fuse;
  auto model = mb.load(lo);
  QRT_EXPECT(model.ok()) << model.status().message();
  if (!model.ok()) return nullptr;
  qrt::SessionOptions o;
  o.threads = threads;
  auto sess = qrt::Session::create(model.value(), o);
  QRT_EXPECT(sess.ok()) << sess.status().message();
  if (!sess.ok()) return nullptr;
  return std::move(sess).value();
}

struct Block {
  int N, H, W, Cin, Cmid, K, S, P, D;
  const char* act_expand;  // "" for none
  const char* act_dw;
  int Cout = 0;            // > 0: a 1x1 projection to Cout channels after the depthwise
  bool expand = true;      // false: no expansion, x has Cmid channels
  int OH() const { return (H + 2 * P - D * (K - 1) - 1) / S + 1; }
  int OW() const { return (W + 2 * P - D * (K - 1) - 1) / S + 1; }
  int Cx() const { return expand ? Cin : Cmid; }
  int Cy() const { return Cout > 0 ? Cout : Cmid; }
  std::string fused_name() const {
    return std::string(expand ? "expand + " : "") + "dw" + (Cout > 0 ? " + project" : "");
  }
};

qrt::format::QuantParams per_channel(int n, std::mt19937& g) {
  qrt::format::QuantParams q;
  q.axis = 0;
  for (int i = 0; i < n; ++i) {
    q.scales.push_back(0.002f + 0.01f * float(g() % 1000) / 1000.f);
    q.zero_points.push_back(0);
  }
  return q;
}

// x -> [Conv2d 1x1 (Cin -> Cmid) -> mid] -> depthwise KxK -> [d -> Conv2d 1x1 (Cmid -> Cout)]
// -> y. `mid_shape` false leaves the intermediates' recorded shapes empty (the pass must not need
// them); `mid_is_output` also lists mid (or d, without an expansion) as a graph output.
ModelBuilder build(const Block& b, uint32_t seed, bool mid_shape = true, bool mid_is_output = false) {
  std::mt19937 g(seed);
  ModelBuilder mb;
  int xi = mb.input("x", DType::kU8, {b.N, b.H, b.W, b.Cx()}, per_tensor(0.03f, 128));
  std::vector<int8_t> we(size_t(b.Cmid) * b.Cin), wd(size_t(b.Cmid) * b.K * b.K);
  for (auto& v : we) v = int8_t(int(g() % 255) - 127);
  for (auto& v : wd) v = int8_t(int(g() % 255) - 127);
  std::vector<int32_t> be(b.Cmid), bd(b.Cmid);
  for (auto& v : be) v = int32_t(g() % 4001) - 2000;
  for (auto& v : bd) v = int32_t(g() % 4001) - 2000;
  int wei = mb.constant<int8_t>("we", DType::kS8, {b.Cmid, 1, 1, b.Cin}, we, per_channel(b.Cmid, g));
  int bei = mb.constant<int32_t>("be", DType::kS32, {b.Cmid}, be, {});
  int wdi = mb.constant<int8_t>("wd", DType::kS8, {b.Cmid, b.K, b.K, 1}, wd, per_channel(b.Cmid, g));
  int bdi = mb.constant<int32_t>("bd", DType::kS32, {b.Cmid}, bd, {});
  std::vector<int64_t> ms, ds;
  if (mid_shape) ms = {b.N, b.H, b.W, b.Cmid}, ds = {b.N, b.OH(), b.OW(), b.Cmid};
  int mid = xi;
  if (b.expand) {
    mid = mb.value("mid", DType::kU8, per_tensor(0.05f, 3), ms);
    auto& ne = mb.node("Conv2d", {xi, wei, bei}, {mid}, "expand");
    if (*b.act_expand) ne.attrs.push_back(ModelBuilder::attr_str("activation", b.act_expand));
  }
  int yi = mb.value("y", DType::kU8, per_tensor(0.08f, 140));
  int di = b.Cout > 0 ? mb.value("d", DType::kU8, per_tensor(0.06f, 7), ds) : yi;
  auto& nd = mb.node("Conv2d", {mid, wdi, bdi}, {di}, "dw");
  nd.attrs = {ModelBuilder::attr_ints("strides", {b.S, b.S}),
              ModelBuilder::attr_ints("pads", {b.P, b.P, b.P, b.P}),
              ModelBuilder::attr_ints("dilations", {b.D, b.D}), ModelBuilder::attr_int("group", b.Cmid)};
  if (*b.act_dw) nd.attrs.push_back(ModelBuilder::attr_str("activation", b.act_dw));
  if (b.Cout > 0) {
    std::vector<int8_t> wp(size_t(b.Cout) * b.Cmid);
    for (auto& v : wp) v = int8_t(int(g() % 255) - 127);
    std::vector<int32_t> bp(b.Cout);
    for (auto& v : bp) v = int32_t(g() % 4001) - 2000;
    int wpi = mb.constant<int8_t>("wp", DType::kS8, {b.Cout, 1, 1, b.Cmid}, wp, per_channel(b.Cout, g));
    int bpi = mb.constant<int32_t>("bp", DType::kS32, {b.Cout}, bp, {});
    mb.node("Conv2d", {di, wpi, bpi}, {yi}, "project");
  }
  mb.output(yi);
  if (mid_is_output) mb.output(b.expand ? mid : di);
  return mb;
}

std::vector<uint8_t> input(const Block& b, uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<uint8_t> x(size_t(b.N) * b.H * b.W * b.Cx());
  for (auto& v : x) v = uint8_t(g() % 256);
  return x;
}

// Runs the model with fusion on or off; returns the bytes of output 0 and the kernel report.
std::vector<uint8_t> run(ModelBuilder& mb, const Block& b, const std::vector<uint8_t>& x, int threads, bool fuse,
                         std::vector<qrt::KernelReportEntry>* report = nullptr) {
  auto sess = session_for(mb, threads, fuse);
  if (!sess) return {};
  std::vector<int64_t> shape;
  std::vector<uint8_t> y = run_poisoned(*sess, {TensorView::of(x.data(), {b.N, b.H, b.W, b.Cx()})}, &shape);
  if (report) *report = sess->kernel_report();
  QRT_EXPECT(shape == std::vector<int64_t>({b.N, b.OH(), b.OW(), b.Cy()}));
  return y;
}

}  // namespace

QRT_TEST(Fusion, DepthwiseBlocksEqualUnfused) {
  const Block cases[] = {
      {1, 112, 112, 16, 96, 3, 2, 1, 1, "relu6", "relu6"},  // MobileNetV2 block 2
      {1, 56, 56, 24, 144, 3, 1, 1, 1, "relu6", "relu6"},   // stride 1: row pairs
      {2, 33, 37, 8, 130, 3, 2, 1, 1, "relu", ""},          // batch 2, odd sizes, C off 16/64
      {1, 40, 29, 17, 120, 5, 1, 2, 1, "", "relu6"},        // 5x5
      {2, 37, 50, 8, 80, 3, 1, 2, 2, "relu6", "relu"},      // dilation 2
      {1, 9, 300, 8, 64, 3, 2, 0, 1, "", ""},               // no padding, few wide rows
      {1, 4, 700, 5, 50, 3, 1, 1, 1, "relu6", ""},          // fewer rows than a strip
      {1, 200, 16, 3, 48, 3, 1, 1, 1, "", "relu6"},         // many strips per task
      {1, 7, 7, 160, 960, 3, 1, 1, 1, "relu6", "relu6"},    // MobileNetV2's last blocks
      {3, 14, 14, 64, 384, 3, 1, 1, 1, "relu6", "relu6"},   // batch 3, 14x14
      {1, 1, 1, 8, 24, 3, 1, 1, 1, "relu", "relu"},         // one pixel, all but one tap padding
      // With the 1x1 projection after the depthwise (whole blocks, or depthwise + projection).
      {1, 112, 112, 0, 32, 3, 1, 1, 1, "", "relu6", 16, false},  // MobileNetV2 block 1
      {1, 56, 56, 24, 144, 3, 1, 1, 1, "relu6", "relu6", 24},      // a whole stride-1 block
      {2, 33, 37, 8, 130, 3, 2, 1, 1, "relu", "", 20},             // batch 2, stride 2, odd sizes
      {1, 7, 7, 160, 960, 3, 1, 1, 1, "relu6", "relu6", 320},      // MobileNetV2's last block
      {1, 40, 29, 0, 72, 5, 2, 2, 1, "", "relu6", 17, false},      // 5x5 stride 2, no expansion
      {2, 37, 50, 8, 80, 3, 1, 2, 2, "relu6", "relu", 33},         // dilation 2
      {1, 1, 1, 8, 24, 3, 1, 1, 1, "relu", "relu", 8},             // one pixel
      {1, 200, 16, 3, 48, 3, 1, 1, 1, "", "relu6", 10},            // many strips per task
      {3, 14, 14, 0, 384, 3, 1, 1, 1, "", "relu6", 64, false},     // batch 3, no expansion
  };
  int fused_cases = 0;
  for (const Block& b : cases) {
    ModelBuilder mb = build(b, 11u + uint32_t(b.H), /*mid_shape=*/b.H != 9);
    const std::vector<uint8_t> x = input(b, 5u + uint32_t(b.W));
    const std::vector<uint8_t> ref = run(mb, b, x, 1, false);
    for (int threads : {1, 2, 3}) {
      std::vector<qrt::KernelReportEntry> rep;
      const std::vector<uint8_t> y = run(mb, b, x, threads, true, &rep);
      QRT_EXPECT_EQ(rep.size(), size_t(1));
      if (rep.size() == 1) {
        QRT_EXPECT(rep[0].node == b.fused_name()) << rep[0].node;
        QRT_EXPECT(rep[0].kernel.find('+') != std::string::npos) << rep[0].kernel;
      }
      QRT_ASSERT(y.size() == ref.size());
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < y.size(); ++i)
        if (y[i] != ref[i] && bad++ == 0) first = i;
      QRT_EXPECT_EQ(bad, size_t(0)) << "H" << b.H << "W" << b.W << "Cmid" << b.Cmid << "K" << b.K << "S" << b.S
                                    << "Cout" << b.Cout
                                    << "threads" << threads << "first byte" << first;
      ++fused_cases;
    }
    // The unfused model at 2 threads agrees too (the reference itself is thread-independent).
    QRT_EXPECT(run(mb, b, x, 2, false) == ref);
  }
  QRT_EXPECT_EQ(fused_cases, 60);
}

QRT_TEST(Fusion, LeavesAloneWhatItMayNotFuse) {
  const Block b{1, 60, 60, 8, 48, 3, 1, 1, 1, "relu6", "relu6"};
  const std::vector<uint8_t> x = input(b, 3);
  // Intermediate also a graph output: it must exist whole, so the nodes stay apart.
  {
    ModelBuilder mb = build(b, 9, true, /*mid_is_output=*/true);
    std::vector<qrt::KernelReportEntry> rep;
    const std::vector<uint8_t> y = run(mb, b, x, 2, true, &rep);
    QRT_EXPECT_EQ(rep.size(), size_t(2));
    QRT_EXPECT(y == run(mb, b, x, 1, false));
  }
  // The intermediate read by a second node (another depthwise convolution): not fused.
  {
    ModelBuilder mb = build(b, 9);
    int y2 = mb.value("y2", DType::kU8, per_tensor(0.08f, 140));
    qrt::format::NodeDef second = mb.def().nodes[1];
    second.name = "dw2";
    second.outputs = {y2};
    mb.def().nodes.push_back(second);
    mb.output(y2);
    std::vector<qrt::KernelReportEntry> rep;
    run(mb, b, x, 2, true, &rep);
    QRT_EXPECT_EQ(rep.size(), size_t(3));
  }
  // fuse_ops = false keeps one op per node.
  {
    ModelBuilder mb = build(b, 9);
    std::vector<qrt::KernelReportEntry> rep;
    run(mb, b, x, 1, false, &rep);
    QRT_EXPECT_EQ(rep.size(), size_t(2));
  }
}

// Load-time fusion of an f32 Transpose into the QuantizeLinear to u8 that alone reads its output
// (ops/shape_transpose.cc, TransposeQuantizeOp): each path of the transpose (2-D tiles with
// output rows shorter and longer than the fused op's buffer, contiguous rows, gathered rows
// longer than the buffer) must give the unfused bytes at 1-3 threads.
namespace {

struct TqCase {
  std::vector<int64_t> shape, perm;
};

ModelBuilder build_tq(const TqCase& c, bool t_is_output = false, bool s8 = false, bool second_reader = false) {
  ModelBuilder mb;
  int xi = mb.input("x", DType::kF32, c.shape);
  int ti = mb.value("t", DType::kF32);
  int yi = mb.value("y", s8 ? DType::kS8 : DType::kU8, per_tensor(0.02f, s8 ? 3 : 128));
  auto& nt = mb.node("Transpose", {xi}, {ti}, "to_nhwc");
  nt.attrs.push_back(ModelBuilder::attr_ints("perm", c.perm));
  mb.node("QuantizeLinear", {ti}, {yi}, "quantize");
  mb.output(yi);
  if (t_is_output) mb.output(ti);
  if (second_reader) {
    int y2 = mb.value("y2", DType::kU8, per_tensor(0.05f, 100));
    mb.node("QuantizeLinear", {ti}, {y2}, "quantize2");
    mb.output(y2);
  }
  return mb;
}

std::vector<uint8_t> run_tq(ModelBuilder& mb, const TqCase& c, const std::vector<float>& x, int threads, bool fuse,
                            std::vector<qrt::KernelReportEntry>* report = nullptr) {
  auto sess = session_for(mb, threads, fuse);
  if (!sess) return {};
  std::vector<int64_t> shape;
  std::vector<uint8_t> y = run_poisoned(*sess, {TensorView::of(x.data(), c.shape)}, &shape);
  if (report) *report = sess->kernel_report();
  std::vector<int64_t> want;
  for (int64_t p : c.perm) want.push_back(c.shape[size_t(p)]);
  QRT_EXPECT(shape == want);
  return y;
}

std::vector<float> tq_input(const TqCase& c, uint32_t seed) {
  std::mt19937 g(seed);
  size_t n = 1;
  for (int64_t d : c.shape) n *= size_t(d);
  std::vector<float> x(n);
  // Past both ends of the u8 range (-2.56 .. 2.54 at scale 0.02, zero point 128), and exact ties.
  for (auto& v : x) v = (g() % 8 == 0) ? 0.02f * (float(int(g() % 300)) - 150.f + 0.5f)
                                       : (float(g() % 100000) / 100000.f - 0.5f) * 7.f;
  return x;
}

}  // namespace

QRT_TEST(Fusion, TransposeQuantizeEqualsUnfused) {
  const TqCase cases[] = {
      {{1, 3, 224, 224}, {0, 2, 3, 1}},  // a CNN's RGB input: 2-D, rows of 3
      {{2, 5, 17, 19}, {0, 2, 3, 1}},    // batch 2, odd sizes
      {{1, 4100, 7, 3}, {0, 2, 3, 1}},   // rows of 4100 > the 4096-float buffer
      {{3, 1, 70, 90}, {0, 2, 3, 1}},    // one channel: a plain copy after simplification
      {{2, 3, 4, 5}, {1, 0, 2, 3}},      // contiguous rows
      {{4, 6, 5}, {2, 1, 0}},            // gathered rows
      {{5000, 2, 3}, {2, 1, 0}},         // gathered rows longer than the buffer
  };
  int fused_cases = 0;
  for (const TqCase& c : cases) {
    ModelBuilder mb = build_tq(c);
    const std::vector<float> x = tq_input(c, 7u + uint32_t(c.shape[1]));
    const std::vector<uint8_t> ref = run_tq(mb, c, x, 1, false);
    QRT_ASSERT(!ref.empty());
    for (int threads : {1, 2, 3}) {
      std::vector<qrt::KernelReportEntry> rep;
      const std::vector<uint8_t> y = run_tq(mb, c, x, threads, true, &rep);
      QRT_EXPECT_EQ(rep.size(), size_t(1));
      if (rep.size() == 1) QRT_EXPECT(rep[0].node == "to_nhwc + quantize") << rep[0].node;
      size_t bad = 0;
      for (size_t i = 0; i < y.size() && i < ref.size(); ++i) bad += y[i] != ref[i];
      QRT_EXPECT(y.size() == ref.size());
      QRT_EXPECT_EQ(bad, size_t(0)) << "shape[1]" << c.shape[1] << "threads" << threads;
      ++fused_cases;
    }
  }
  QRT_EXPECT_EQ(fused_cases, 21);
}

QRT_TEST(Fusion, TransposeQuantizeLeftAloneWhenItMayNot) {
  const TqCase c{{1, 3, 20, 20}, {0, 2, 3, 1}};
  const std::vector<float> x = tq_input(c, 1);
  struct Variant {
    bool t_is_output, s8, second_reader;
    size_t nodes;
  };
  for (const Variant& v : {Variant{true, false, false, 2}, Variant{false, true, false, 2},
                           Variant{false, false, true, 3}, Variant{false, false, false, 1}}) {
    ModelBuilder mb = build_tq(c, v.t_is_output, v.s8, v.second_reader);
    std::vector<qrt::KernelReportEntry> rep;
    const std::vector<uint8_t> y = run_tq(mb, c, x, 2, true, &rep);
    QRT_EXPECT_EQ(rep.size(), v.nodes) << "t_is_output" << v.t_is_output << "s8" << v.s8;
    QRT_EXPECT(y == run_tq(mb, c, x, 1, false));
  }
}
