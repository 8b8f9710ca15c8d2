// Depthwise convolution (dwconv_f32.h): every runnable variant vs an fp64 oracle computed here,
// tolerance (KH*KW + 2) * 2^-23 * (|bias| + sum |in*w|); output rows outside [oy_begin, oy_end)
// and nothing else may change (sentinel-filled output); padding / stride / dilation / channel
// tails / clamps / rows wide enough for the AVX-512 pixel groups; input and weights allocated exactly (ASan sees any over-read).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <vector>

#include "harness.h"
#include "kernels/dwconv_f32.h"

using namespace qrt::kernels;

namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ull + 7) {}
  float uniform() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<float>((s >> 40) & 0xffffff) / 8388608.0f - 1.0f;
  }
};

constexpr uint32_t kSentinel = 0x7f8badc0;

bool check(const DwConvF32Kernel& k, const DwConvF32Shape& s, bool bias_on, float fmin, float fmax,
           size_t oy_begin, size_t oy_end, uint64_t seed) {
  Rng rng(seed);
  const size_t OH = s.out_h(), OW = s.out_w(), C = s.C;
  std::vector<float> in(s.H * s.W * C), w(s.KH * s.KW * C), bias(C), out(OH * OW * C);
  for (float& x : in) x = rng.uniform();
  for (float& x : w) x = rng.uniform();
  for (float& x : bias) x = rng.uniform();
  float sent;
  std::memcpy(&sent, &kSentinel, 4);
  for (float& x : out) x = sent;
  k.run(s, in.data(), w.data(), bias_on ? bias.data() : nullptr, fmin, fmax, out.data(), oy_begin,
        oy_end);
  std::ostringstream ctx;
  ctx << k.name << " H" << s.H << " W" << s.W << " C" << C << " k" << s.KH << "x" << s.KW << " s"
      << s.stride_h << "," << s.stride_w << " d" << s.dilation_h << "," << s.dilation_w << " pad"
      << s.pad_top << "," << s.pad_left << "," << s.pad_bottom << "," << s.pad_right << " rows["
      << oy_begin << "," << oy_end << ")";
  for (size_t oy = 0; oy < OH; ++oy)
    for (size_t ox = 0; ox < OW; ++ox)
      for (size_t c = 0; c < C; ++c) {
        float got = out[(oy * OW + ox) * C + c];
        uint32_t bits;
        std::memcpy(&bits, &got, 4);
        if (oy < oy_begin || oy >= oy_end) {
          if (bits != kSentinel) {
            QRT_EXPECT(false) << ctx.str() << ": wrote row" << oy;
            return false;
          }
          continue;
        }
        double acc = bias_on ? bias[c] : 0, mag = bias_on ? std::fabs(bias[c]) : 0;
        for (size_t ky = 0; ky < s.KH; ++ky)
          for (size_t kx = 0; kx < s.KW; ++kx) {
            long iy = long(oy * s.stride_h + ky * s.dilation_h) - long(s.pad_top);
            long ix = long(ox * s.stride_w + kx * s.dilation_w) - long(s.pad_left);
            if (iy < 0 || ix < 0 || iy >= long(s.H) || ix >= long(s.W)) continue;
            double p = double(in[(iy * s.W + ix) * C + c]) * w[(ky * s.KW + kx) * C + c];
            acc += p;
            mag += std::fabs(p);
          }
        double r = acc;
        r = fmin > r ? fmin : r;
        r = fmax < r ? fmax : r;
        double tol = std::ldexp(1.0, -23) * (s.KH * s.KW + 2) * mag + 1e-30;
        if (!(std::fabs(got - r) <= tol)) {
          QRT_EXPECT(false) << ctx.str() << ": out[" << oy << "][" << ox << "][" << c << "] = "
                            << got << " expected " << r;
          return false;
        }
      }
  return true;
}

}  // namespace

QRT_TEST(FloatDwConv, VariantsAndSelect) {
  const auto& v = dwconv_f32_variants();
  QRT_ASSERT(!v.empty());
  QRT_EXPECT(v.back()->isa == qrt::cpu::Isa::kRef);
  for (const auto* k : v) std::printf("    variant %s\n", k->name);
  QRT_EXPECT(select_dwconv_f32().run != nullptr);
}

QRT_TEST(FloatDwConv, ShapeSweep) {
  struct Geo {
    size_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  };
  const Geo geos[] = {
      {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, {3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
      {5, 5, 1, 1, 1, 1, 2, 2, 2, 2}, {5, 5, 2, 2, 1, 1, 2, 2, 2, 2}, {3, 3, 1, 1, 2, 2, 2, 2, 2, 2},
      {3, 3, 2, 1, 1, 2, 0, 2, 1, 0}, {3, 5, 1, 2, 1, 1, 1, 2, 0, 3}, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
      {7, 7, 2, 2, 1, 1, 3, 3, 3, 3}, {5, 5, 1, 1, 1, 1, 4, 4, 4, 4},  // padding wider than image
  };
  // C % 64 = 1..63 leftover channels (1-4 vectors) go through pixel groups of 2-8 (AVX-512):
  // widths up to 37 give interior runs of several groups plus partial ones at both edges.
  const size_t Cs[] = {1, 7, 8, 16, 17, 32, 33, 48, 64, 80, 100, 144};
  const size_t HWs[][2] = {{1, 1}, {2, 3}, {7, 9}, {12, 5}, {4, 20}, {3, 37}};
  uint64_t seed = 0;
  for (const DwConvF32Kernel* k : dwconv_f32_variants())
    for (const Geo& g : geos)
      for (size_t C : Cs)
        for (const auto& hw : HWs) {
          DwConvF32Shape s;
          s.H = hw[0];
          s.W = hw[1];
          s.C = C;
          s.KH = g.kh;
          s.KW = g.kw;
          s.stride_h = g.sh;
          s.stride_w = g.sw;
          s.dilation_h = g.dh;
          s.dilation_w = g.dw;
          s.pad_top = g.pt;
          s.pad_left = g.pl;
          s.pad_bottom = g.pb;
          s.pad_right = g.pr;
          size_t OH = s.out_h();
          if (OH == 0 || s.out_w() == 0) continue;
          ++seed;
          bool bias_on = seed % 3 != 0;
          if (!check(*k, s, bias_on, -INFINITY, INFINITY, 0, OH, seed)) return;
          if (OH >= 3 && !check(*k, s, bias_on, 0.f, 6.f, 1, OH - 1, seed)) return;  // ReLU6, rows
        }
}

QRT_TEST(FloatDwConv, RowRangesComposeAndNaN) {
  for (const DwConvF32Kernel* k : dwconv_f32_variants()) {
    DwConvF32Shape s;
    s.H = 10;
    s.W = 11;
    s.C = 24;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
    std::vector<float> in(s.H * s.W * s.C, 0.5f), w(9 * s.C, 0.25f), a(s.out_h() * s.out_w() * s.C),
        b(a.size());
    in[(4 * s.W + 4) * s.C + 3] = NAN;
    k->run(s, in.data(), w.data(), nullptr, 0.f, 6.f, a.data(), 0, s.out_h());
    for (size_t r = 0; r < s.out_h(); r += 3)
      k->run(s, in.data(), w.data(), nullptr, 0.f, 6.f, b.data(), r,
             r + 3 < s.out_h() ? r + 3 : s.out_h());
    QRT_EXPECT(std::memcmp(a.data(), b.data(), a.size() * 4) == 0) << k->name;
    QRT_EXPECT(std::isnan(a[(4 * s.out_w() + 4) * s.C + 3])) << k->name << "NaN must propagate";
    QRT_EXPECT(a[(0 * s.out_w() + 0) * s.C + 0] == 0.5f) << k->name << a[0];  // 4 taps at corner
  }
}
