// Attention (qrt op): every kernel variant against the fp64 reference block, and the op through a
// written/loaded model (ModelBuilder) against a naive per-head reference: several sequence lengths
// (tails of the 16/8-lane and 6-row tiles), head dims, head counts, mask shapes, batch > 1,
// Sq != Skv, Dv != D, 1 and 2 threads; plus the errors infer() reports.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "harness.h"
#include "kernels/attention_f32.h"
#include "kernels/gemm_f32.h"
#include "ops/op_test_util.h"

namespace {

using qrt_test::ModelBuilder;
using DType = qrt::format::DType;

std::vector<float> randv(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

bool close(double got, double want, double atol, double rtol) {
  if (std::isnan(want)) return std::isnan(got);
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

// Naive attention over [B, S, H*D] tensors; mask given with its shape (right-aligned to 4-D).
std::vector<float> naive(const std::vector<float>& q, const std::vector<float>& k,
                         const std::vector<float>& v, const std::vector<float>* mask,
                         std::vector<int64_t> mshape, size_t B, size_t Sq, size_t Skv, size_t H,
                         size_t D, size_t Dv, double scale) {
  std::vector<float> y(B * Sq * H * Dv);
  while (mshape.size() < 4) mshape.insert(mshape.begin(), 1);
  std::vector<size_t> ms(4, 0);
  size_t acc = 1;
  for (size_t i = 4; i-- > 0;) {
    ms[i] = mshape[i] == 1 ? 0 : acc;
    acc *= static_cast<size_t>(mshape[i]);
  }
  std::vector<double> s(Skv);
  for (size_t b = 0; b < B; ++b)
    for (size_t h = 0; h < H; ++h)
      for (size_t i = 0; i < Sq; ++i) {
        double mx = -INFINITY;
        for (size_t j = 0; j < Skv; ++j) {
          double d = 0;
          for (size_t t = 0; t < D; ++t)
            d += double(q[(b * Sq + i) * H * D + h * D + t]) * k[(b * Skv + j) * H * D + h * D + t];
          d *= scale;
          if (mask) d += (*mask)[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
          s[j] = d;
          mx = std::max(mx, d);
        }
        double sum = 0;
        for (size_t j = 0; j < Skv; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (size_t e = 0; e < Dv; ++e) {
          double o = 0;
          for (size_t j = 0; j < Skv; ++j) o += s[j] * v[(b * Skv + j) * H * Dv + h * Dv + e];
          y[(b * Sq + i) * H * Dv + h * Dv + e] = static_cast<float>(o / sum);
        }
      }
  return y;
}

struct BlockCase { size_t m, n, dk, dv; int mask; };  // mask: 0 none, 1 key-only, 2 full [m][n]

// One kernel call's operands, rows padded (ldq > dk, ...), the mask with padded keys at -10000
// (and one -Inf entry for full masks).
struct BlockData {
  BlockCase c;
  size_t ldq, ldk, ldv, ldo;
  std::vector<float> q, k, v, mask;
};

BlockData block_data(const BlockCase& c, uint32_t& seed) {
  BlockData d{c, c.dk + 3, c.dk + 5, c.dv + 2, c.dv + 1, {}, {}, {}, {}};
  d.q = randv(c.m * d.ldq, seed++, -2, 2);
  d.k = randv(c.n * d.ldk, seed++, -2, 2);
  d.v = randv(c.n * d.ldv, seed++);
  d.mask = randv(c.m * c.n + c.n, seed++, -3, 0);
  for (size_t j = 0; j < c.n; j += 3) d.mask[j] = -10000.f;  // padded keys
  if (c.mask == 2) d.mask[0] = -INFINITY;
  return d;
}

// O (rows of ldo floats, columns past dv preset to 7) from one call of kern, scale 0.3.
std::vector<float> run_block(const qrt::kernels::AttentionF32Kernel& kern, const BlockData& d) {
  using namespace qrt::kernels;
  const BlockCase& c = d.c;
  std::vector<float> out(c.m * d.ldo, 7.f);
  const size_t sf = attention_scratch_floats(c.m, c.n, c.dk, c.dv);
  float* scratch = static_cast<float*>(std::aligned_alloc(64, (sf * 4 + 63) / 64 * 64));
  AttentionF32Args a;
  a.m = c.m; a.n = c.n; a.dk = c.dk; a.dv = c.dv;
  a.q = d.q.data(); a.ldq = d.ldq; a.k = d.k.data(); a.ldk = d.ldk; a.v = d.v.data(); a.ldv = d.ldv;
  a.o = out.data(); a.ldo = d.ldo; a.scale = 0.3f;
  if (c.mask == 1) { a.mask = d.mask.data(); a.mask_sj = 1; }
  if (c.mask == 2) { a.mask = d.mask.data(); a.mask_ld = c.n; a.mask_sj = 1; }
  a.scratch = scratch;
  kern.block(a);
  std::free(scratch);
  return out;
}

float bf16_round(float f) {
  uint32_t u = static_cast<uint32_t>(qrt::kernels::f32_to_bf16(f)) << 16;
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}

}  // namespace

// Precision "bf16" kernels: O against the fp64 attention of the bf16-rounded Q, K, V, within
// 2^-8 sum_j p_j |V[j][e]| + 1e-6 (kernels/attention_f32.h): the rounding of the softmax weights
// and of their sum. Shapes cover row tails (m not a multiple of 16/32), key tails (n not a
// multiple of 16/32, n = 1), dk and dv tails and several k blocks; masks as the fp32 test.
QRT_TEST(AttentionKernel, Bf16VariantsWithinBound) {
  using namespace qrt::kernels;
  const auto& vars = attention_bf16_variants();
  if (vars.empty()) QRT_SKIP("no bf16-product attention variant on this CPU (needs AMX-BF16)");
  const BlockCase cases[] = {{1, 1, 1, 1, 0},    {64, 128, 32, 32, 1}, {17, 33, 24, 40, 2},
                             {5, 7, 3, 70, 1},   {64, 5, 32, 16, 2},   {48, 200, 64, 64, 1},
                             {33, 64, 96, 8, 0}, {64, 1, 16, 17, 2},   {16, 130, 80, 80, 1},
                             {32, 32, 32, 32, 0}, {64, 128, 64, 64, 2}, {128, 128, 32, 32, 1},
                             {100, 77, 40, 24, 2}};
  uint32_t seed = 101;
  for (const AttentionF32Kernel* kern : vars) {
    QRT_EXPECT(kern->bf16_products);
    for (const BlockCase& c : cases) {
      if (c.m > kern->max_rows) continue;
      const BlockData d = block_data(c, seed);
      const size_t ldq = d.ldq, ldk = d.ldk, ldv = d.ldv, ldo = d.ldo;
      const std::vector<float>&q = d.q, &k = d.k, &v = d.v, &mask = d.mask;
      const float scale = 0.3f;  // run_block's
      const std::vector<float> out = run_block(*kern, d);
      int bad = 0;
      std::vector<double> p(c.n);
      for (size_t i = 0; i < c.m; ++i) {
        double mx = -INFINITY;
        for (size_t j = 0; j < c.n; ++j) {
          double dot = 0;
          for (size_t t = 0; t < c.dk; ++t)
            dot += double(bf16_round(q[i * ldq + t])) * bf16_round(k[j * ldk + t]);
          dot *= scale;
          if (c.mask == 1) dot += mask[j];
          if (c.mask == 2) dot += mask[i * c.n + j];
          p[j] = dot;
          mx = std::max(mx, dot);
        }
        double sum = 0;
        for (size_t j = 0; j < c.n; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (size_t e = 0; e < ldo; ++e) {
          const float g = out[i * ldo + e];
          if (e >= c.dv) {
            if (g != 7.f && bad++ < 3)
              QRT_EXPECT(false) << kern->name << " wrote outside O at row " << i << " col " << e;
            continue;
          }
          double want = 0, bound = 0;
          for (size_t j = 0; j < c.n; ++j) {
            const double vj = bf16_round(v[j * ldv + e]);
            want += p[j] / sum * vj;
            bound += p[j] / sum * std::fabs(vj);
          }
          bound = std::ldexp(bound, -8) + 1e-6;
          const bool ok = std::isnan(want) ? std::isnan(g) : std::fabs(g - want) <= bound;
          if (!ok && bad++ < 3)
            QRT_EXPECT(false) << kern->name << " m=" << c.m << " n=" << c.n << " dk=" << c.dk
                              << " dv=" << c.dv << " mask=" << c.mask << " [" << i << "][" << e
                              << "] " << g << " vs " << want << " (bound " << bound << ")";
        }
      }
    }
  }
}

QRT_TEST(AttentionKernel, VariantsMatchReference) {
  using namespace qrt::kernels;
  const BlockCase cases[] = {{1, 1, 1, 1, 0},   {64, 128, 64, 64, 1}, {17, 33, 24, 40, 2},
                             {5, 7, 3, 70, 1},  {64, 5, 32, 16, 2},   {48, 200, 64, 64, 1},
                             {33, 64, 96, 8, 0}, {64, 1, 16, 17, 2},  {16, 130, 80, 80, 1}};
  uint32_t seed = 1;
  for (const BlockCase& c : cases) {
    const BlockData d = block_data(c, seed);
    const size_t ldo = d.ldo;
    auto run = [&](const AttentionF32Kernel* kern) { return run_block(*kern, d); };
    const auto& vars = attention_f32_variants();
    QRT_ASSERT(vars.back()->isa == qrt::cpu::Isa::kRef);
    const std::vector<float> want = run(vars.back());
    for (const AttentionF32Kernel* kern : vars) {
      const std::vector<float> got = run(kern);
      int bad = 0;
      for (size_t i = 0; i < c.m; ++i)
        for (size_t e = 0; e < ldo; ++e) {
          float g = got[i * ldo + e], w = want[i * ldo + e];
          if (e >= c.dv) {  // padding columns untouched
            if (g != 7.f && bad++ < 3)
              QRT_EXPECT(false) << kern->name << " wrote outside O at row " << i << " col " << e;
          } else if (!close(g, w, 2e-6, 2e-5) && bad++ < 3) {
            QRT_EXPECT(false) << kern->name << " m=" << c.m << " n=" << c.n << " dk=" << c.dk
                              << " dv=" << c.dv << " mask=" << c.mask << " [" << i << "][" << e
                              << "] " << g << " vs " << w;
          }
        }
    }
  }
}

QRT_TEST(AttentionOp, MatchesNaiveReference) {
  struct C {
    size_t B, Sq, Skv, H, D, Dv;
    std::vector<int64_t> mshape;  // empty: no mask
    float scale;                  // 0: default 1/sqrt(D)
  };
  const std::vector<C> cases = {
      {1, 128, 128, 12, 32, 32, {1, 1, 1, 128}, 0.f},  // MiniLM
      {2, 37, 37, 4, 16, 16, {2, 1, 1, 37}, 0.f},      // batch 2, padding mask per sequence
      {3, 19, 23, 2, 8, 12, {}, 0.5f},                 // cross attention, Dv != D, no mask
      {2, 70, 70, 3, 64, 64, {70, 70}, 0.f},           // causal-style 2-D mask
      {1, 5, 9, 1, 20, 20, {1, 5, 9}, 0.f},            // per-query mask, single head
      {2, 16, 16, 6, 24, 24, {2, 6, 16, 16}, 0.125f},  // full mask
      {1, 1, 300, 2, 40, 40, {1, 300}, 0.f},           // one query, long keys
      {1, 200, 200, 2, 64, 64, {1, 1, 1, 200}, 0.f},   // several row blocks
  };
  uint32_t seed = 11;
  for (const C& c : cases) {
    auto q = randv(c.B * c.Sq * c.H * c.D, seed++, -2, 2);
    auto k = randv(c.B * c.Skv * c.H * c.D, seed++, -2, 2);
    auto v = randv(c.B * c.Skv * c.H * c.Dv, seed++);
    size_t mn = 1;
    for (int64_t d : c.mshape) mn *= static_cast<size_t>(d);
    auto mask = randv(mn, seed++, -4, 0);
    if (!c.mshape.empty())
      for (size_t j = 0; j < mn; j += 5) mask[j] = -10000.f;
    const double scale = c.scale != 0.f ? c.scale : 1.0 / std::sqrt(static_cast<double>(c.D));
    auto want = naive(q, k, v, c.mshape.empty() ? nullptr : &mask, c.mshape, c.B, c.Sq, c.Skv,
                      c.H, c.D, c.Dv, scale);
    for (int threads : {1, 2}) {
      ModelBuilder b;
      const int64_t B = c.B, Sq = c.Sq, Skv = c.Skv, HD = c.H * c.D, HDv = c.H * c.Dv;
      int qi = b.input("q", DType::kF32, {B, Sq, HD});
      int ki = b.input("k", DType::kF32, {B, Skv, HD});
      int vi = b.input("v", DType::kF32, {B, Skv, HDv});
      std::vector<int32_t> ins = {qi, ki, vi};
      if (!c.mshape.empty()) ins.push_back(b.input("mask", DType::kF32, c.mshape));
      int y = b.value("y", DType::kF32);
      auto& n = b.node("Attention", ins, {y});
      n.attrs.push_back(ModelBuilder::attr_int("num_heads", static_cast<int64_t>(c.H)));
      if (c.scale != 0.f) n.attrs.push_back(ModelBuilder::attr_float("scale", c.scale));
      b.output(y);
      std::vector<std::pair<std::string, qrt::TensorView>> feeds = {
          {"q", qrt::TensorView::of(q.data(), {B, Sq, HD})},
          {"k", qrt::TensorView::of(k.data(), {B, Skv, HD})},
          {"v", qrt::TensorView::of(v.data(), {B, Skv, HDv})}};
      if (!c.mshape.empty()) feeds.push_back({"mask", qrt::TensorView::of(mask.data(), c.mshape)});
      auto out = b.run(feeds, threads);
      QRT_ASSERT(out.ok());
      const qrt::Tensor& t = out.value()[0];
      QRT_EXPECT(t.shape == std::vector<int64_t>({B, Sq, HDv}));
      const float* g = t.data<float>();
      int bad = 0;
      for (size_t i = 0; i < want.size() && bad < 3; ++i)
        if (!close(g[i], want[i], 2e-6, 2e-5)) {
          ++bad;
          QRT_EXPECT(false) << "case B=" << c.B << " Sq=" << c.Sq << " H=" << c.H << " D=" << c.D
                            << " threads=" << threads << " at " << i << ": " << g[i] << " vs "
                            << want[i];
        }
    }
  }
}

// precision "bf16" through a loaded model: the MiniLM shape and a tail case against the naive
// fp32 attention (bf16 rounding of Q and K moves scores by up to 2^-8 sum |q k| scale, hence the
// wider tolerance; the kernel-level bound is tested above), 1 and 2 threads; an unknown precision
// is an error naming the attribute.
QRT_TEST(AttentionOp, Bf16Precision) {
  struct C { size_t B, Sq, Skv, H, D; };
  for (const C& c : {C{1, 128, 128, 12, 32}, C{2, 37, 41, 3, 24}}) {
    uint32_t seed = 77;
    auto q = randv(c.B * c.Sq * c.H * c.D, seed++, -2, 2);
    auto k = randv(c.B * c.Skv * c.H * c.D, seed++, -2, 2);
    auto v = randv(c.B * c.Skv * c.H * c.D, seed++);
    auto mask = randv(c.B * c.Skv, seed++, -4, 0);
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
    const std::vector<int64_t> ms = {int64_t(c.B), 1, 1, int64_t(c.Skv)};
    auto want = naive(q, k, v, &mask, ms, c.B, c.Sq, c.Skv, c.H, c.D, c.D, scale);
    for (int threads : {1, 2}) {
      ModelBuilder b;
      const int64_t B = c.B, Sq = c.Sq, Skv = c.Skv, HD = c.H * c.D;
      std::vector<int32_t> ins = {b.input("q", DType::kF32, {B, Sq, HD}),
                                  b.input("k", DType::kF32, {B, Skv, HD}),
                                  b.input("v", DType::kF32, {B, Skv, HD}),
                                  b.input("mask", DType::kF32, ms)};
      int y = b.value("y", DType::kF32);
      auto& n = b.node("Attention", ins, {y});
      n.attrs.push_back(ModelBuilder::attr_int("num_heads", static_cast<int64_t>(c.H)));
      n.attrs.push_back(ModelBuilder::attr_str("precision", "bf16"));
      b.output(y);
      auto out = b.run({{"q", qrt::TensorView::of(q.data(), {B, Sq, HD})},
                        {"k", qrt::TensorView::of(k.data(), {B, Skv, HD})},
                        {"v", qrt::TensorView::of(v.data(), {B, Skv, HD})},
                        {"mask", qrt::TensorView::of(mask.data(), ms)}},
                       threads);
      QRT_ASSERT(out.ok());
      const float* g = out.value()[0].data<float>();
      int bad = 0;
      for (size_t i = 0; i < want.size() && bad < 3; ++i)
        if (!close(g[i], want[i], 0.03, 0.0)) {
          ++bad;
          QRT_EXPECT(false) << "Sq=" << c.Sq << " threads=" << threads << " at " << i << ": "
                            << g[i] << " vs " << want[i];
        }
    }
  }
  ModelBuilder b;
  std::vector<int32_t> ins = {b.input("q", DType::kF32, {1, 4, 8}), b.input("k", DType::kF32, {1, 4, 8}),
                              b.input("v", DType::kF32, {1, 4, 8})};
  int y = b.value("y", DType::kF32);
  auto& n = b.node("Attention", ins, {y});
  n.attrs.push_back(ModelBuilder::attr_int("num_heads", 2));
  n.attrs.push_back(ModelBuilder::attr_str("precision", "fp8"));
  b.output(y);
  std::vector<float> z(32, 0.f);
  auto st = b.run({{"q", qrt::TensorView::of(z.data(), {1, 4, 8})},
                   {"k", qrt::TensorView::of(z.data(), {1, 4, 8})},
                   {"v", qrt::TensorView::of(z.data(), {1, 4, 8})}}).status();
  QRT_EXPECT(!st.ok());
  QRT_EXPECT(st.message().find("precision") != std::string::npos) << st.message();
}

QRT_TEST(AttentionOp, Errors) {
  auto build = [](std::vector<int64_t> qs, std::vector<int64_t> ks, std::vector<int64_t> vs,
                  std::vector<int64_t> ms, int64_t heads) {
    ModelBuilder b;
    std::vector<int32_t> ins = {b.input("q", DType::kF32, qs), b.input("k", DType::kF32, ks),
                                b.input("v", DType::kF32, vs)};
    if (!ms.empty()) ins.push_back(b.input("m", DType::kF32, ms));
    int y = b.value("y", DType::kF32);
    b.node("Attention", ins, {y}).attrs.push_back(ModelBuilder::attr_int("num_heads", heads));
    b.output(y);
    std::vector<std::vector<float>> data;
    std::vector<std::pair<std::string, qrt::TensorView>> feeds;
    const char* names[] = {"q", "k", "v", "m"};
    std::vector<std::vector<int64_t>> shapes = {qs, ks, vs, ms};
    for (size_t i = 0; i < ins.size(); ++i) {
      size_t n = 1;
      for (int64_t d : shapes[i]) n *= static_cast<size_t>(d);
      data.emplace_back(n, 0.f);
    }
    for (size_t i = 0; i < ins.size(); ++i)
      feeds.push_back({names[i], qrt::TensorView::of(data[i].data(), shapes[i])});
    return b.run(feeds).status();
  };
  QRT_EXPECT(build({1, 4, 8}, {1, 4, 8}, {1, 4, 8}, {}, 2).ok());
  QRT_EXPECT(!build({1, 4, 8}, {1, 4, 8}, {1, 4, 8}, {}, 3).ok());        // 8 % 3
  QRT_EXPECT(!build({1, 4, 8}, {1, 4, 8}, {1, 4, 8}, {}, 0).ok());        // no heads
  QRT_EXPECT(!build({1, 4, 8}, {1, 5, 8}, {1, 4, 8}, {}, 2).ok());        // K/V lengths
  QRT_EXPECT(!build({1, 4, 8}, {1, 4, 6}, {1, 4, 8}, {}, 2).ok());        // Q/K widths
  QRT_EXPECT(!build({4, 8}, {4, 8}, {4, 8}, {}, 2).ok());                 // rank 2
  QRT_EXPECT(!build({1, 4, 8}, {1, 4, 8}, {1, 4, 8}, {1, 1, 1, 3}, 2).ok());  // mask length
  QRT_EXPECT(build({1, 4, 8}, {1, 4, 8}, {1, 4, 8}, {1, 2, 4, 4}, 2).ok());
}
