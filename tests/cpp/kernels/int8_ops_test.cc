// im2col_u8, qelementwise_u8 (add / mul) and pool_u8 (max / avg / global avg): every variant
// against its scalar reference, bit for bit; plus im2col + gemm_u8s8 against a direct convolution
// (checks the (kh, kw, c) ordering against [O][KH][KW][Cg] weights and zero-point padding).
#include <cmath>
#include <cstring>
#include <sstream>

#include "harness.h"
#include "kernels/gemm_u8s8.h"
#include "kernels/im2col_u8.h"
#include "kernels/int8_test_util.h"
#include "kernels/pool_u8.h"
#include "kernels/qelementwise_u8.h"

namespace {

using namespace qrt::kernels;
using namespace qrt_test::int8;

template <class K>
std::vector<const K*> simd_of(const std::vector<const K*>& all, const char* test) {
  std::vector<const K*> v;
  std::vector<std::string> names;
  for (const K* k : all)
    if (k->isa != qrt::cpu::Isa::kRef) v.push_back(k), names.push_back(k->name);
  std::printf("    %s covers: %s\n", test, names.empty() ? "(none)" : join_names(names).c_str());
  return v;
}

size_t out_size(size_t in, size_t k, size_t s, size_t pa, size_t pb, size_t d) {
  const size_t span = d * (k - 1) + 1;
  return in + pa + pb < span ? 0 : (in + pa + pb - span) / s + 1;
}

}  // namespace

QRT_TEST(Int8Im2Col, AllVariantsAndGroups) {
  auto ks = simd_of(im2col_u8_variants(), "Int8Im2Col.AllVariantsAndGroups");
  if (ks.empty()) QRT_SKIP("no SIMD im2col_u8 variant runs on this CPU");
  const Im2ColU8Kernel& ref = *im2col_u8_variants().back();
  int cases = 0;
  for (const Im2ColU8Kernel* k : ks) {
    uint64_t seed = 1;
    for (size_t Cg : {1, 3, 32, 33, 70})
      for (size_t groups : {1, 2})
        for (size_t ksz : {1, 3, 5, 7})
          for (size_t stride : {1, 2})
            for (size_t pad : {0, 1, 2, 3}) {
              Im2ColU8Params p;
              p.H = 6 + ksz / 2, p.W = 7 + ksz / 3, p.C_total = Cg * groups, p.Cg = Cg, p.c_begin = (groups - 1) * Cg;
              p.KH = p.KW = ksz, p.stride_h = p.stride_w = stride, p.pad_top = p.pad_left = pad;
              p.dilation_h = p.dilation_w = (seed % 3 == 0) ? 2 : 1;
              p.OH = out_size(p.H, ksz, stride, pad, pad, p.dilation_h);
              p.OW = out_size(p.W, ksz, stride, pad, pad, p.dilation_w);
              p.zero_point = static_cast<uint8_t>(seed * 37);
              if (!p.OH || !p.OW) continue;
              Rng rng(++seed);
              GuardedBuffer<uint8_t> x(p.H * p.W * p.C_total);
              for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(rng.uniform(0, 255));
              const size_t K = ksz * ksz * Cg, ldo = K + 5, P = p.OH * p.OW;
              const size_t pb = P / 3, pe = P;  // a pixel range
              GuardedBuffer<uint8_t> ok(P * ldo), orf(P * ldo);
              std::memset(ok.data(), 0xEE, ok.size());
              std::memset(orf.data(), 0xEE, orf.size());
              k->run(p, x.data(), ok.data(), ldo, pb, pe);
              ref.run(p, x.data(), orf.data(), ldo, pb, pe);
              ++cases;
              QRT_EXPECT(std::memcmp(ok.data(), orf.data(), ok.size()) == 0)
                  << k->name << " Cg=" << Cg << " groups=" << groups << " k=" << ksz << " s=" << stride
                  << " pad=" << pad << " dil=" << p.dilation_h;
            }
  }
  std::printf("    %d cases\n", cases);
}

// Rows wide enough that most pixels are horizontally interior (the AVX-512 small-tap path copies
// them with one masked load/store per kernel row), pixel ranges that start and end mid-row,
// strides 1-3, pads 0-3 (also no interior pixel at all), Cg 1..21 with KW * Cg up to 64, up to 128
// (two masked copies per kernel row; Cg = 12 is an f32 RGB pixel) and past it.
QRT_TEST(Int8Im2Col, WideRowsSmallChannels) {
  auto ks = simd_of(im2col_u8_variants(), "Int8Im2Col.WideRowsSmallChannels");
  if (ks.empty()) QRT_SKIP("no SIMD im2col_u8 variant runs on this CPU");
  const Im2ColU8Kernel& ref = *im2col_u8_variants().back();
  int cases = 0;
  for (const Im2ColU8Kernel* k : ks) {
    uint64_t seed = 300;
    for (size_t Cg : {1, 3, 4, 8, 12, 21})
      for (size_t ksz : {1, 2, 3, 5, 7})
        for (size_t stride : {1, 2, 3})
          for (size_t pad : {0, 1, 3}) {
            Im2ColU8Params p;
            p.H = 5 + seed % 4, p.W = (seed % 5 == 0) ? ksz : 37 + seed % 7, p.C_total = p.Cg = Cg;
            p.KH = p.KW = ksz, p.stride_h = p.stride_w = stride, p.pad_top = p.pad_left = pad;
            if (seed % 4 == 1) p.dilation_h = 2;  // rows only: the fast path needs dilation_w = 1
            p.OH = out_size(p.H, ksz, stride, pad, pad + seed % 2, p.dilation_h);
            p.OW = out_size(p.W, ksz, stride, pad, pad + seed % 2, 1);
            p.zero_point = static_cast<uint8_t>(seed * 53);
            if (!p.OH || !p.OW) continue;
            Rng rng(++seed);
            GuardedBuffer<uint8_t> x(p.H * p.W * p.C_total);
            for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(rng.uniform(0, 255));
            const size_t K = ksz * ksz * Cg, ldo = K + seed % 3, P = p.OH * p.OW;
            const size_t pb = P > 3 ? p.OW / 2 + 1 : 0, pe = P > 3 ? P - 2 : P;  // mid-row start and end
            GuardedBuffer<uint8_t> ok(P * ldo), orf(P * ldo);
            std::memset(ok.data(), 0xEE, ok.size());
            std::memset(orf.data(), 0xEE, orf.size());
            k->run(p, x.data(), ok.data(), ldo, pb, pe);
            ref.run(p, x.data(), orf.data(), ldo, pb, pe);
            ++cases;
            QRT_EXPECT(std::memcmp(ok.data(), orf.data(), ok.size()) == 0)
                << k->name << " W=" << p.W << " Cg=" << Cg << " k=" << ksz << " s=" << stride
                << " pad=" << pad << " dil_h=" << p.dilation_h << " pixels [" << pb << "," << pe << ")";
          }
  }
  std::printf("    %d cases\n", cases);
}

QRT_TEST(Int8Im2Col, FeedsGemmAsDirectConvolution) {
  const Im2ColU8Kernel& im = select_im2col_u8();
  const GemmU8S8Kernel& gk = select_gemm_u8s8();
  std::printf("    using %s + %s\n", im.name, gk.name);
  Rng rng(77);
  Im2ColU8Params p;
  p.H = 9, p.W = 8, p.C_total = p.Cg = 19, p.KH = 3, p.KW = 3, p.stride_h = 2, p.stride_w = 1;
  p.pad_top = 1, p.pad_left = 1, p.zero_point = 131;
  p.OH = out_size(p.H, 3, 2, 1, 1, 1), p.OW = out_size(p.W, 3, 1, 1, 1, 1);
  const size_t O = 21, K = 3 * 3 * p.Cg, P = p.OH * p.OW;
  std::vector<uint8_t> x(p.H * p.W * p.C_total), cols(P * K);
  std::vector<int8_t> w(O * K);  // [O][KH][KW][Cg]
  for (auto& v : x) v = static_cast<uint8_t>(rng.uniform(0, 255));
  for (auto& v : w) v = static_cast<int8_t>(rng.uniform(-127, 127));
  im.run(p, x.data(), cols.data(), K, 0, P);
  std::vector<float> scale(O, 1.0f);
  void* packed = std::aligned_alloc(64, (gk.packed_size(O, K) + 63) / 64 * 64);
  gk.pack(O, K, w.data(), K, packed);
  GemmU8S8Epilogue ep;
  ep.kind = GemmU8S8Epilogue::Kind::kDequantF32;
  ep.a_zero_point = p.zero_point;
  ep.scale = scale.data();
  std::vector<float> y(P * O);
  gk.run(P, O, K, cols.data(), K, packed, ep, y.data(), O, 0, P, 0, O);
  std::free(packed);
  int bad = 0;
  for (size_t oh = 0; oh < p.OH; ++oh)
    for (size_t ow = 0; ow < p.OW; ++ow)
      for (size_t o = 0; o < O; ++o) {
        int64_t acc = 0;
        for (size_t kh = 0; kh < 3; ++kh)
          for (size_t kw = 0; kw < 3; ++kw) {
            const ptrdiff_t ih = ptrdiff_t(oh * 2 + kh) - 1, iw = ptrdiff_t(ow + kw) - 1;
            if (ih < 0 || iw < 0 || ih >= ptrdiff_t(p.H) || iw >= ptrdiff_t(p.W)) continue;
            for (size_t c = 0; c < p.Cg; ++c)
              acc += (int64_t(x[(ih * p.W + iw) * p.C_total + c]) - p.zero_point) *
                     w[o * K + (kh * 3 + kw) * p.Cg + c];
          }
        if (y[(oh * p.OW + ow) * O + o] != static_cast<float>(acc) && bad++ < 3)
          QRT_EXPECT(false) << "conv mismatch at oh=" << oh << " ow=" << ow << " o=" << o << " got "
                            << y[(oh * p.OW + ow) * O + o] << " want " << acc;
      }
}

QRT_TEST(Int8QElementwise, AddMulAllVariants) {
  auto ks = simd_of(qelementwise_u8_variants(), "Int8QElementwise.AddMulAllVariants");
  if (ks.empty()) QRT_SKIP("no SIMD qelementwise_u8 variant runs on this CPU");
  const QElementwiseU8Kernel& ref = *qelementwise_u8_variants().back();
  int cases = 0;
  for (const QElementwiseU8Kernel* k : ks) {
    uint64_t seed = 1;
    std::vector<size_t> lengths;
    for (size_t n = 0; n <= 40; ++n) lengths.push_back(n);
    for (size_t n : {47, 48, 49, 63, 64, 65, 1000, 4099}) lengths.push_back(n);
    for (size_t n : lengths)
      for (int op = 0; op < 2; ++op)
        for (bool scalar : {false, true}) {
          Rng rng(++seed);
          QElementwiseU8Params p;
          const int32_t zps[] = {0, 128, 255, 3};
          p.a_zero_point = zps[seed % 4], p.b_zero_point = zps[(seed / 4) % 4];
          p.out_zero_point = zps[(seed / 16) % 4];
          if (seed % 3 == 1) p.qmin = p.out_zero_point;
          p.a_mult = seed % 5 == 0 ? 0.5f : rng.uniformf(0.1f, 2.0f);
          p.b_mult = seed % 7 == 0 ? 0.25f : rng.uniformf(0.1f, 2.0f);
          p.mult = seed % 5 == 0 ? 1.0f / 128 : rng.uniformf(0.001f, 0.05f);
          GuardedBuffer<uint8_t> a(n), b(scalar ? 1 : n), yk(n), yr(n);
          for (size_t i = 0; i < n; ++i) a[i] = static_cast<uint8_t>(rng.uniform(0, 255));
          for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(rng.uniform(0, 255));
          auto fn = [&](const QElementwiseU8Kernel& kk) { return op ? kk.mul : kk.add; };
          if (n) fn(*k)(p, a.data(), b.data(), scalar, yk.data(), n);
          if (n) fn(ref)(p, a.data(), b.data(), scalar, yr.data(), n);
          ++cases;
          for (size_t i = 0; i < n; ++i)
            if (yk[i] != yr[i]) {
              QRT_EXPECT(false) << k->name << (op ? " mul" : " add") << " n=" << n << " scalar=" << scalar
                                << " i=" << i << " got " << int(yk[i]) << " want " << int(yr[i]);
              break;
            }
          // In place: y aliases a.
          if (n && !scalar) {
            std::vector<uint8_t> a2(a.data(), a.data() + n);
            fn(*k)(p, a2.data(), b.data(), false, a2.data(), n);
            QRT_EXPECT(std::memcmp(a2.data(), yr.data(), n) == 0) << k->name << " in place n=" << n;
          }
        }
  }
  std::printf("    %d cases\n", cases);
}

QRT_TEST(Int8Pool, MaxAvgGlobalAllVariants) {
  auto ks = simd_of(pool_u8_variants(), "Int8Pool.MaxAvgGlobalAllVariants");
  if (ks.empty()) QRT_SKIP("no SIMD pool_u8 variant runs on this CPU");
  const PoolU8Kernel& ref = *pool_u8_variants().back();
  int cases = 0;
  for (const PoolU8Kernel* k : ks) {
    uint64_t seed = 1;
    // C: below/at/above the 8/16/32/64-channel steps of the AVX2 and AVX-512 variants.
    for (size_t C : {1, 3, 17, 33, 64, 65, 130})
      for (size_t ksz : {2, 3})
        for (size_t stride : {1, 2})
          for (size_t pad : {0, 1})
            for (int kind = 0; kind < 3; ++kind) {
              Rng rng(++seed);
              PoolU8Params p;
              p.H = 7, p.W = 6, p.C = C, p.KH = p.KW = ksz, p.stride_h = p.stride_w = stride;
              p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
              p.dilation_h = p.dilation_w = (kind == 0 && seed % 2) ? 2 : 1;
              p.count_include_pad = seed % 2;
              p.in_zero_point = static_cast<int32_t>(seed * 53 % 256);
              p.out_zero_point = static_cast<int32_t>(seed * 29 % 256);
              if (seed % 3 == 0) p.qmin = 10, p.qmax = 240;
              p.mult = seed % 4 == 0 ? 1.0f : rng.uniformf(0.5f, 2.0f);
              p.OH = out_size(p.H, ksz, stride, pad, pad, p.dilation_h);
              p.OW = out_size(p.W, ksz, stride, pad, pad, p.dilation_w);
              GuardedBuffer<uint8_t> x(p.H * p.W * C);
              for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(rng.uniform(0, 255));
              const size_t ny = kind == 2 ? C : p.OH * p.OW * C;
              GuardedBuffer<uint8_t> yk(ny), yr(ny);
              std::memset(yk.data(), 0xA5, ny);
              std::memset(yr.data(), 0xA5, ny);
              const size_t r0 = p.OH > 1 ? 1 : 0;
              if (kind == 0) k->max_pool(p, x.data(), yk.data(), r0, p.OH), ref.max_pool(p, x.data(), yr.data(), r0, p.OH);
              if (kind == 1) k->avg_pool(p, x.data(), yk.data(), r0, p.OH), ref.avg_pool(p, x.data(), yr.data(), r0, p.OH);
              if (kind == 2) k->global_avg_pool(p, x.data(), yk.data()), ref.global_avg_pool(p, x.data(), yr.data());
              ++cases;
              for (size_t i = 0; i < ny; ++i)
                if (yk[i] != yr[i]) {
                  QRT_EXPECT(false) << k->name << " kind=" << kind << " C=" << C << " k=" << ksz
                                    << " s=" << stride << " pad=" << pad << " incl_pad=" << p.count_include_pad
                                    << " i=" << i << " got " << int(yk[i]) << " want " << int(yr[i]);
                  break;
                }
            }
  }
  std::printf("    %d cases\n", cases);
}
