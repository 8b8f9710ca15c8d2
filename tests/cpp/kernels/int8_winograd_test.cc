// winograd_u8s8 (F(2x2, 3x3)) against the reference GEMM on the explicit im2col of the same
// padded input, bit for bit: odd and even output sizes (tiles reaching past the buffer), channel
// tails (C % 16), output-channel tails, zero points 0 / 128 / 255, extreme data at the largest C
// (the int32 bound), both epilogues, strided outputs and tile ranges that cut tile rows and span
// several bands.
// The input ends at a guard page; the output is sentinel-filled.
#include <cstring>
#include <sstream>

#include "harness.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/int8_test_util.h"
#include "kernels/winograd_u8s8.h"

namespace {

using qrt::kernels::GemmU8S8Epilogue;
using qrt::kernels::GemmU8S8Kernel;
using qrt::kernels::WinogradU8S8Kernel;
using namespace qrt_test::int8;
using Kind = GemmU8S8Epilogue::Kind;

struct WCase {
  size_t OH, OW, C, O;
  int32_t zp = 128;
  Kind kind = Kind::kRequantU8;
  bool extreme = false;          // x in {0, 255}, w in {-128, 127}
  size_t ldy_extra = 0;
  std::vector<size_t> cuts;      // tile ranges [cuts[i], cuts[i+1]) run separately
  uint64_t seed = 1;
};

bool check(const WinogradU8S8Kernel& k, const GemmU8S8Kernel& ref, const WCase& c) {
  const size_t Hp = c.OH + 2, Wp = c.OW + 2, K = 9 * c.C, M = c.OH * c.OW;
  Rng rng(c.seed);
  GuardedBuffer<uint8_t> x(Hp * Wp * c.C);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<uint8_t>(c.extreme ? (rng.uniform(0, 3) ? 255 : 0) : rng.uniform(0, 255));
  std::vector<int8_t> w(c.O * K);  // O x 3 x 3 x C, which is also the GEMM's N x K
  for (auto& v : w) v = static_cast<int8_t>(c.extreme ? (rng.uniform(0, 1) ? 127 : -128) : rng.uniform(-128, 127));
  std::vector<uint8_t> A(M * K);
  for (size_t oy = 0; oy < c.OH; ++oy)
    for (size_t ox = 0; ox < c.OW; ++ox)
      for (size_t i = 0; i < 3; ++i)
        for (size_t j = 0; j < 3; ++j)
          std::memcpy(&A[(oy * c.OW + ox) * K + (i * 3 + j) * c.C], &x[((oy + i) * Wp + ox + j) * c.C], c.C);
  std::vector<int32_t> bias(c.O);
  std::vector<float> scale(c.O), bias_f(c.O);
  for (size_t n = 0; n < c.O; ++n) {
    bias[n] = rng.uniform(-100000, 100000);
    scale[n] = rng.uniformf(0.5f, 2.0f) * 150.0f / (static_cast<float>(K) * 300.f + 1.f);
    bias_f[n] = rng.uniformf(-3.f, 3.f);
  }
  GemmU8S8Epilogue ep;
  ep.kind = c.kind;
  ep.a_zero_point = c.zp;
  ep.bias = bias.data();
  ep.scale = scale.data();
  ep.out_zero_point = 100;
  ep.qmin = 3;
  ep.qmax = 250;
  ep.bias_f32 = bias_f.data();
  const size_t esz = c.kind == Kind::kRequantU8 ? 1 : 4, ldy = c.O + c.ldy_extra;
  AlignedBuffer pr(ref.packed_size(c.O, K));
  ref.pack(c.O, K, w.data(), K, pr.data());
  std::vector<uint8_t> Yr(M * ldy * esz, 0xA5);
  ref.run(M, c.O, K, A.data(), K, pr.data(), ep, Yr.data(), ldy, 0, M, 0, c.O);

  AlignedBuffer pk(k.packed_size(c.O, c.C)), work(k.work_size(c.C));
  k.pack(c.O, c.C, w.data(), pk.data());
  GuardedBuffer<uint8_t> Y(M * ldy * esz);
  std::memset(Y.data(), 0xA5, Y.size());
  qrt::kernels::WinogradU8S8Params p;
  p.x = x.data();
  p.Hp = Hp, p.Wp = Wp, p.C = c.C, p.x_zero_point = c.zp;
  p.OH = c.OH, p.OW = c.OW, p.O = c.O;
  p.packed = pk.data();
  p.ep = &ep;
  p.y = Y.data();
  p.ldy = ldy;
  const size_t tiles = qrt::kernels::winograd_tiles(c.OH, c.OW);
  std::vector<size_t> cuts = {0};
  for (size_t t : c.cuts)
    if (t > cuts.back() && t < tiles) cuts.push_back(t);
  cuts.push_back(tiles);
  for (size_t i = 0; i + 1 < cuts.size(); ++i) k.run(p, cuts[i], cuts[i + 1], work.data());
  std::ostringstream d;
  d << k.name << " OH=" << c.OH << " OW=" << c.OW << " C=" << c.C << " O=" << c.O << " zp=" << c.zp
    << (c.kind == Kind::kRequantU8 ? " requant" : " dequant") << (c.extreme ? " extreme" : "")
    << " ldy=" << ldy << " ranges=" << cuts.size() - 1;
  QRT_EXPECT(work.tail_intact() && pk.tail_intact()) << d.str() << ": wrote past a buffer";
  for (size_t i = 0; i < Y.size(); ++i) {
    if (Y[i] == Yr[i]) continue;
    const size_t e = i / esz;
    QRT_EXPECT(false) << d.str() << ": first mismatch at pixel " << e / ldy << " channel " << e % ldy;
    return false;
  }
  return true;
}

}  // namespace

QRT_TEST(Int8Winograd, EqualsGemmReference) {
  const GemmU8S8Kernel& ref = *qrt::kernels::gemm_u8s8_variants().back();
  std::vector<std::string> names;
  size_t cases = 0, failed = 0;
  for (const WinogradU8S8Kernel* k : qrt::kernels::winograd_u8s8_variants()) {
    names.push_back(k->name);
    std::vector<WCase> cs;
    uint64_t seed = 1;
    for (size_t OH : {1, 2, 3, 6, 7})
      for (size_t OW : {1, 2, 5, 8, 13})
        for (size_t C : {1, 4, 9, 17, 24, 32})
          for (size_t O : {1, 8, 13}) {
            WCase c{OH, OW, C, O};
            c.zp = static_cast<int32_t>((OH * 91 + OW * 37 + C) % 3 * 127 + ((OH + C) % 2));  // 0..255
            c.kind = (OH + OW + O) % 3 == 0 ? Kind::kDequantF32 : Kind::kRequantU8;
            c.seed = seed++;
            cs.push_back(c);
          }
    for (int32_t zp : {0, 128, 255}) {
      WCase c{14, 14, 64, 64};
      c.zp = zp, c.seed = seed++;
      c.cuts = {5, 24, 30, 48};  // ranges that cut tile rows (7 tiles)
      cs.push_back(c);
    }
    WCase bands{13, 11, 300, 20};  // band_tiles(300) = 24 here: a range of 25 tiles is 2 bands
    bands.cuts.push_back(5);  // (push_back: GCC 12 -Wnonnull misfires on `= {...}` here)
    bands.cuts.push_back(30);
    bands.seed = seed++;
    cs.push_back(bands);
    WCase one_range{13, 11, 300, 20};  // all 42 tiles in one call
    one_range.seed = seed++, one_range.kind = Kind::kDequantF32;
    cs.push_back(one_range);
    WCase wide{9, 27, 100, 70};  // channel tail 100 % 16, column tail 70 % 8, strided output
    wide.ldy_extra = 5, wide.kind = Kind::kDequantF32, wide.seed = seed++;
    cs.push_back(wide);
    for (int32_t zp : {0, 255}) {  // the int32 bound: extreme data at the largest C
      WCase big{3, 4, qrt::kernels::kWinogradMaxC, 9};
      big.zp = zp, big.extreme = true, big.seed = seed++;
      big.kind = Kind::kDequantF32;
      cs.push_back(big);
    }
    for (const WCase& c : cs) {
      ++cases;
      if (!check(*k, ref, c)) ++failed;
    }
  }
  std::printf("    Int8Winograd covers: %s (%zu cases, %zu failed)\n",
              names.empty() ? "(none on this CPU)" : join_names(names).c_str(), cases, failed);
  if (names.empty()) QRT_SKIP("no winograd_u8s8 variant runs on this CPU");
}
