// winograd_f32 (F(2x2, 3x3)): the SIMD transforms equal the reference's bit for bit; the whole
// convolution, with every runnable transform variant and every fp32-weight GEMM variant,
// against a direct convolution in fp64 within the bound winograd_f32.h states: odd and even
// sizes (tiles reaching past the image), symmetric, asymmetric and no padding, channel and
// output-channel tails, bias or none, clamps, strided outputs, and tile ranges that cut tile rows
// and span several bands. The input ends at a guard page; outputs and buffers carry sentinels.
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "harness.h"
#include "kernels/gemm_f32.h"
#include "kernels/int8_test_util.h"
#include "kernels/winograd_f32.h"

namespace {

using qrt::kernels::GemmF32Kernel;
using qrt::kernels::WinogradF32Kernel;
using namespace qrt_test::int8;
constexpr float kInf = std::numeric_limits<float>::infinity();

const WinogradF32Kernel& ref_kernel() { return *qrt::kernels::winograd_f32_variants().back(); }

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

bool check_transforms(const WinogradF32Kernel& k, size_t C, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> src(16 * C), zero(C, 0.f);
  for (auto& v : src) v = rng.uniformf(-1.f, 1.f) * std::ldexp(1.f, rng.uniform(-30, 30));
  if (C > 5) src[3] = std::numeric_limits<float>::quiet_NaN();
  const float* rows[16];
  for (int p = 0; p < 16; ++p) rows[p] = p % 5 == 4 ? zero.data() : &src[p * C];
  const size_t ldv = C + 3;
  std::vector<float> v1(16 * ldv, 7.f), v2(16 * ldv, 7.f);
  k.input(rows, C, v1.data(), ldv);
  ref_kernel().input(rows, C, v2.data(), ldv);
  QRT_EXPECT(same_bits(v1.data(), v2.data(), v1.size())) << k.name << " input transform, C=" << C;
  bool ok = same_bits(v1.data(), v2.data(), v1.size());
  const size_t O = C, ldm = O + 2;
  std::vector<float> m(16 * ldm), bias(O);
  for (auto& v : m) v = rng.uniformf(-4.f, 4.f);
  for (auto& v : bias) v = rng.uniformf(-2.f, 2.f);
  if (O > 9) m[ldm + 9] = std::numeric_limits<float>::quiet_NaN();
  const float clamps[4][2] = {{-kInf, kInf}, {0.f, kInf}, {0.f, 6.f}, {-1.f, 1.f}};
  for (const auto& cl : clamps)
    for (size_t ni : {1, 2})
      for (size_t nj : {1, 2})
        for (bool with_bias : {false, true}) {
          const size_t ldo_px = O + 1, ldo_row = 3 * ldo_px;
          std::vector<float> y1(2 * ldo_row, -9.f), y2(2 * ldo_row, -9.f);
          const float* b = with_bias ? bias.data() : nullptr;
          k.output(m.data(), ldm, O, b, cl[0], cl[1], y1.data(), ldo_row, ldo_px, ni, nj);
          ref_kernel().output(m.data(), ldm, O, b, cl[0], cl[1], y2.data(), ldo_row, ldo_px, ni, nj);
          const bool eq = same_bits(y1.data(), y2.data(), y1.size());
          QRT_EXPECT(eq) << k.name << " output transform, O=" << O << " ni=" << ni << " nj=" << nj
                         << " clamp [" << cl[0] << ", " << cl[1] << "] bias=" << with_bias;
          ok = ok && eq;
        }
  return ok;
}

struct ConvCase {
  size_t H, W, pt, pl, pb, pr, C, O;
  bool bias = true;
  float lo = -kInf, hi = kInf;
  size_t ldy_extra = 0;
  std::vector<size_t> cuts;
  uint64_t seed = 1;
};

bool check_conv(const WinogradF32Kernel& k, const GemmF32Kernel& g, const ConvCase& c) {
  const size_t OH = c.H + c.pt + c.pb - 2, OW = c.W + c.pl + c.pr - 2, C = c.C, O = c.O;
  Rng rng(c.seed);
  GuardedBuffer<float> x(c.H * c.W * C);
  for (size_t i = 0; i < x.size(); ++i) x[i] = rng.uniformf(-2.f, 2.f);
  std::vector<float> w(O * 9 * C), bias(O);
  for (auto& v : w) v = rng.uniformf(-1.f, 1.f);
  for (auto& v : bias) v = rng.uniformf(-1.f, 1.f);
  AlignedBuffer pk(qrt::kernels::winograd_f32_packed_size(g, O, C));
  qrt::kernels::winograd_f32_pack(g, O, C, w.data(), pk.data());
  AlignedBuffer work(qrt::kernels::winograd_f32_work_size(C, O));
  const size_t ldy = O + c.ldy_extra;
  std::vector<float> y(OH * OW * ldy + 16, -777.f);
  qrt::kernels::WinogradF32Params p;
  p.x = x.data();
  p.H = c.H, p.W = c.W, p.C = C, p.pad_top = c.pt, p.pad_left = c.pl;
  p.OH = OH, p.OW = OW, p.O = O;
  p.gemm = &g;
  p.packed = pk.data();
  p.bias = c.bias ? bias.data() : nullptr;
  p.lo = c.lo, p.hi = c.hi;
  p.y = y.data();
  p.ldy = ldy;
  const size_t tiles = qrt::kernels::winograd_f32_tiles(OH, OW);
  std::vector<size_t> cuts = {0};
  for (size_t t : c.cuts)
    if (t > cuts.back() && t < tiles) cuts.push_back(t);
  cuts.push_back(tiles);
  for (size_t i = 0; i + 1 < cuts.size(); ++i) qrt::kernels::winograd_f32_run(k, p, cuts[i], cuts[i + 1], work.data());
  std::ostringstream d;
  d << k.name << "+" << g.name << " H=" << c.H << " W=" << c.W << " pads=" << c.pt << c.pl << c.pb << c.pr
    << " C=" << C << " O=" << O << " ldy=" << ldy << " ranges=" << cuts.size() - 1;
  QRT_EXPECT(work.tail_intact() && pk.tail_intact()) << d.str() << ": wrote past a buffer";
  // The bound: S = sum_c |A^T| ((|G| |g| |G^T|) (.) (|B^T| |d| |B|)) |A| per output.
  static const double BT[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};  // |B^T|
  static const double G[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, .5, .5}, {0, 0, 1}};          // |G|
  static const double AT[2][4] = {{1, 1, 1, 0}, {0, 1, 1, 1}};                              // |A^T|
  std::vector<double> Ug(O * C * 16);
  for (size_t o = 0; o < O; ++o)
    for (size_t ci = 0; ci < C; ++ci)
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          double s = 0;
          for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) s += G[a][i] * std::fabs(w[((o * 3 + i) * 3 + j) * C + ci]) * G[b][j];
          Ug[(o * C + ci) * 16 + a * 4 + b] = s;
        }
  const double tol_rel = std::ldexp(1.0, -23) * static_cast<double>(C + 8);
  auto in = [&](int64_t ih, int64_t iw, size_t ci) -> double {
    if (ih < 0 || iw < 0 || ih >= static_cast<int64_t>(c.H) || iw >= static_cast<int64_t>(c.W)) return 0.0;
    return x[(static_cast<size_t>(ih) * c.W + static_cast<size_t>(iw)) * C + ci];
  };
  size_t bad = 0;
  double worst = 0;
  std::vector<double> Vd(C * 16);
  for (size_t oy = 0; oy < OH; ++oy)
    for (size_t ox = 0; ox < OW; ++ox) {
      const size_t ty = oy / 2 * 2, tx = ox / 2 * 2, i = oy - ty, j = ox - tx;
      for (size_t ci = 0; ci < C; ++ci)
        for (int a = 0; a < 4; ++a)
          for (int b = 0; b < 4; ++b) {
            double s = 0;
            for (int r = 0; r < 4; ++r)
              for (int q = 0; q < 4; ++q)
                s += BT[a][r] * std::fabs(in(static_cast<int64_t>(ty + r) - static_cast<int64_t>(c.pt),
                                             static_cast<int64_t>(tx + q) - static_cast<int64_t>(c.pl), ci)) * BT[b][q];
            Vd[ci * 16 + a * 4 + b] = s;
          }
      for (size_t o = 0; o < O; ++o) {
        double exact = c.bias ? bias[o] : 0.0, S = 0;
        for (size_t ki = 0; ki < 3; ++ki)
          for (size_t kj = 0; kj < 3; ++kj)
            for (size_t ci = 0; ci < C; ++ci)
              exact += in(static_cast<int64_t>(oy + ki) - static_cast<int64_t>(c.pt),
                          static_cast<int64_t>(ox + kj) - static_cast<int64_t>(c.pl), ci) *
                       w[((o * 3 + ki) * 3 + kj) * C + ci];
        for (size_t ci = 0; ci < C; ++ci)
          for (int a = 0; a < 4; ++a)
            for (int b = 0; b < 4; ++b) S += AT[i][a] * AT[j][b] * Ug[(o * C + ci) * 16 + a * 4 + b] * Vd[ci * 16 + a * 4 + b];
        exact = std::min(std::max(exact, static_cast<double>(c.lo)), static_cast<double>(c.hi));
        const double tol = tol_rel * S + std::ldexp(1.0, -23) * (c.bias ? std::fabs(bias[o]) : 0.0);
        const double got = y[(oy * OW + ox) * ldy + o], err = std::fabs(got - exact);
        worst = std::max(worst, S > 0 ? err / (tol_rel * S) : err);
        if (!(err <= tol) && bad++ == 0)
          QRT_EXPECT(false) << d.str() << ": output (" << oy << ", " << ox << ", " << o << ") = " << got
                            << ", exact " << exact << ", bound " << tol;
      }
      for (size_t o = O; o < ldy; ++o)
        if (y[(oy * OW + ox) * ldy + o] != -777.f && bad++ == 0)
          QRT_EXPECT(false) << d.str() << ": wrote the gap after pixel (" << oy << ", " << ox << ")";
    }
  for (size_t e = OH * OW * ldy; e < y.size(); ++e)
    if (y[e] != -777.f && bad++ == 0) QRT_EXPECT(false) << d.str() << ": wrote past the output";
  return bad == 0;
}

}  // namespace

QRT_TEST(FloatWinograd, TransformsEqualReference) {
  std::vector<std::string> names;
  size_t cases = 0, failed = 0;
  uint64_t seed = 1;
  for (const WinogradF32Kernel* k : qrt::kernels::winograd_f32_variants()) {
    names.push_back(k->name);
    for (size_t C : {1, 3, 7, 8, 9, 16, 17, 31, 40, 64, 67}) {
      ++cases;
      if (!check_transforms(*k, C, seed++)) ++failed;
    }
  }
  std::printf("    FloatWinograd transforms cover: %s (%zu cases, %zu failed)\n", join_names(names).c_str(), cases, failed);
}

QRT_TEST(FloatWinograd, ConvWithinStatedBound) {
  std::vector<ConvCase> cs;
  uint64_t seed = 100;
  for (size_t H : {1, 2, 3, 6, 7})
    for (size_t W : {1, 4, 9})
      for (size_t C : {1, 8, 13})
        for (size_t O : {1, 16, 21}) {
          // pads 1 (same), 0 (valid: needs H, W >= 3) or asymmetric (0, 1 / 1, 2)
          const int kind = static_cast<int>((H + W + C + O) % 3);
          ConvCase c{H, W, 1, 1, 1, 1, C, O};
          if (kind == 1 && H >= 3 && W >= 3) c.pt = c.pl = c.pb = c.pr = 0;
          if (kind == 2) c.pt = 0, c.pl = 1, c.pb = 2, c.pr = 1;
          c.bias = (H + O) % 2 == 0;
          if (O == 16) c.lo = 0.f;
          if (O == 21 && C == 8) c.lo = -0.5f, c.hi = 0.5f;
          c.ldy_extra = W == 9 ? 3 : 0;
          c.seed = seed++;
          cs.push_back(c);
        }
  // 156 tiles; band(67, 40) = 96: the range [7, 150) of 143 tiles runs as 2 bands (72 + 71)
  ConvCase bands{24, 26, 1, 1, 1, 1, 67, 40};
  QRT_EXPECT_EQ(qrt::kernels::winograd_f32_band(67, 40), size_t{96});
  bands.cuts.push_back(7);  // (push_back: GCC 12 -Wnonnull misfires on `= {...}` here)
  bands.cuts.push_back(150);
  bands.seed = seed++;
  cs.push_back(bands);
  ConvCase all{24, 26, 1, 1, 1, 1, 16, 8};  // all 156 tiles in one call: bands of 78
  all.seed = seed++, all.bias = false;
  cs.push_back(all);
  ConvCase wide{9, 15, 1, 2, 0, 1, 130, 70};  // C, O tails of 8 and 16 / 32, strided output
  wide.ldy_extra = 5, wide.seed = seed++;
  wide.cuts.push_back(13);
  cs.push_back(wide);
  std::vector<std::string> names;
  size_t cases = 0, failed = 0;
  for (const WinogradF32Kernel* k : qrt::kernels::winograd_f32_variants())
    for (const GemmF32Kernel* g : qrt::kernels::gemm_f32_variants(qrt::format::DType::kF32)) {
      names.push_back(std::string(k->name) + "+" + g->name);
      for (const ConvCase& c : cs) {
        ++cases;
        if (!check_conv(*k, *g, c)) ++failed;
      }
    }
  std::printf("    FloatWinograd conv covers: %s (%zu cases, %zu failed)\n", join_names(names).c_str(), cases, failed);
}
