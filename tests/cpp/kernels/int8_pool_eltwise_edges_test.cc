// Edge cases of pool_u8 and qelementwise_u8 that the main variant tests (int8_ops_test.cc) do not
// reach, for every SIMD variant against the reference, bit for bit:
// * average pool with count_include_pad = 1 on windows that overlap the padding (the divisor is
//   KH*KW there, not the number of valid taps), first output row included, asymmetric pads;
// * max pool with qmin > 0 (the clamp from below) and qmax < 255;
// * quantized add on inputs where two products and one add give an exact .5 tie but either FMA
//   order does not (random data almost never shows the difference: 0 of 10^6 random elements did).
#include <cmath>
#include <cstring>
#include <vector>

#include "harness.h"
#include "kernels/int8_test_util.h"
#include "kernels/pool_u8.h"
#include "kernels/qelementwise_u8.h"

namespace {

using namespace qrt::kernels;
using namespace qrt_test::int8;

template <class K>
std::vector<const K*> simd_only(const std::vector<const K*>& all, const char* test) {
  std::vector<const K*> v;
  std::vector<std::string> names;
  for (const K* k : all)
    if (k->isa != qrt::cpu::Isa::kRef) v.push_back(k), names.push_back(k->name);
  std::printf("    %s covers: %s\n", test, names.empty() ? "(none)" : join_names(names).c_str());
  return v;
}

size_t out_size(size_t in, size_t k, size_t s, size_t pa, size_t pb) {
  return in + pa + pb < k ? 0 : (in + pa + pb - k) / s + 1;
}

}  // namespace

QRT_TEST(Int8PoolEdges, CountIncludePadAndClamps) {
  auto ks = simd_only(pool_u8_variants(), "Int8PoolEdges.CountIncludePadAndClamps");
  if (ks.empty()) QRT_SKIP("no SIMD pool_u8 variant runs on this CPU");
  const PoolU8Kernel& ref = *pool_u8_variants().back();
  int cases = 0, failed = 0;
  for (const PoolU8Kernel* k : ks) {
    uint64_t seed = 500;
    for (size_t C : {1, 7, 8, 9, 16, 17, 33, 70})
      for (size_t ksz : {2, 3})
        for (size_t stride : {1, 2})
          for (int padset = 0; padset < 3; ++padset)
            for (int clamp = 0; clamp < 3; ++clamp)
              for (int kind = 0; kind < 2; ++kind)
                for (bool incl : {false, true}) {
                  if (kind == 0 && incl) continue;  // max pool ignores count_include_pad
                  Rng rng(++seed);
                  PoolU8Params p;
                  p.H = 6, p.W = 5, p.C = C, p.KH = p.KW = ksz;
                  p.stride_h = p.stride_w = stride;
                  const size_t pads[3][4] = {{1, 1, 1, 1}, {2, 0, 1, 2}, {0, 2, 2, 1}};
                  p.pad_top = pads[padset][0], p.pad_left = pads[padset][1];
                  p.pad_bottom = pads[padset][2], p.pad_right = pads[padset][3];
                  if (p.pad_top >= ksz || p.pad_left >= ksz || p.pad_bottom >= ksz ||
                      p.pad_right >= ksz)
                    continue;
                  p.count_include_pad = incl;
                  p.in_zero_point = rng.uniform(0, 255);
                  p.out_zero_point = rng.uniform(0, 255);
                  const int32_t qmins[] = {0, 10, 200}, qmaxs[] = {255, 240, 255};
                  p.qmin = qmins[clamp], p.qmax = qmaxs[clamp];
                  p.mult = rng.uniformf(0.5f, 2.0f);
                  p.OH = out_size(p.H, ksz, stride, p.pad_top, p.pad_bottom);
                  p.OW = out_size(p.W, ksz, stride, p.pad_left, p.pad_right);
                  GuardedBuffer<uint8_t> x(p.H * p.W * C);
                  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(rng.uniform(0, 255));
                  const size_t ny = p.OH * p.OW * C;
                  GuardedBuffer<uint8_t> yk(ny), yr(ny);
                  std::memset(yk.data(), 0xA5, ny);
                  std::memset(yr.data(), 0xA5, ny);
                  // Two row ranges (threads), the first starting at row 0 (top padding).
                  const size_t mid = p.OH / 2;
                  for (auto [r0, r1] : {std::pair<size_t, size_t>{0, mid}, {mid, p.OH}}) {
                    if (kind == 0) k->max_pool(p, x.data(), yk.data(), r0, r1);
                    else k->avg_pool(p, x.data(), yk.data(), r0, r1);
                  }
                  if (kind == 0) ref.max_pool(p, x.data(), yr.data(), 0, p.OH);
                  else ref.avg_pool(p, x.data(), yr.data(), 0, p.OH);
                  ++cases;
                  for (size_t i = 0; i < ny; ++i)
                    if (yk[i] != yr[i]) {
                      ++failed;
                      QRT_EXPECT(false) << k->name << (kind ? " avg" : " max") << " C=" << C
                                        << " k=" << ksz << " s=" << stride << " padset=" << padset
                                        << " incl_pad=" << incl << " q=[" << p.qmin << "," << p.qmax
                                        << "] i=" << i << " got " << int(yk[i]) << " want "
                                        << int(yr[i]);
                      break;
                    }
                }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}

QRT_TEST(Int8QElementwiseEdges, AddIsTwoProductsThenOneAdd) {
  auto ks = simd_only(qelementwise_u8_variants(), "Int8QElementwiseEdges.AddIsTwoProductsThenOneAdd");
  if (ks.empty()) QRT_SKIP("no SIMD qelementwise_u8 variant runs on this CPU");
  const QElementwiseU8Kernel& ref = *qelementwise_u8_variants().back();
  // (a_zp, b_zp, a_mult, b_mult, a, b) where (a-a_zp)*a_mult + (b-b_zp)*b_mult rounds to an exact
  // .5 tie with two products and one add, but not with either FMA order (found by search over
  // random multipliers; about 1 in 10 random multiplier pairs has such an (a, b) at all).
  struct Case {
    int32_t azp, bzp;
    float am, bm;
    uint8_t a, b;
  };
  const Case cases[] = {{245, 22, 0x1.181ef2p-1f, 0x1.42ae32p+0f, 101, 73},
                        {224, 125, 0x1.5f0cfap+0f, 0x1.1a4a16p+0f, 151, 238},
                        {232, 27, 0x1.4cfe72p+0f, 0x1.bba546p-1f, 151, 58}};
  int n_cases = 0;
  for (const Case& c : cases) {
    QElementwiseU8Params p;
    p.a_zero_point = c.azp, p.b_zero_point = c.bzp, p.out_zero_point = 128;
    p.a_mult = c.am, p.b_mult = c.bm;
    // The case discriminates: the fused forms round to a different integer than the spec.
    const float da = static_cast<float>(c.a - c.azp), db = static_cast<float>(c.b - c.bzp);
    const float spec = da * c.am + db * c.bm;  // -ffp-contract=off: two roundings, then the add
    QRT_EXPECT(std::nearbyint(spec) != std::nearbyint(std::fma(da, c.am, db * c.bm)) &&
               std::nearbyint(spec) != std::nearbyint(std::fma(db, c.bm, da * c.am)))
        << "case a=" << int(c.a) << " b=" << int(c.b) << " does not discriminate";
    for (size_t n : {1, 16, 37}) {
      std::vector<uint8_t> a(n, c.a), b(n, c.b), yr(n), yk(n);
      ref.add(p, a.data(), b.data(), false, yr.data(), n);
      for (const QElementwiseU8Kernel* k : ks) {
        k->add(p, a.data(), b.data(), false, yk.data(), n);
        ++n_cases;
        QRT_EXPECT(yk == yr) << k->name << " add a=" << int(c.a) << " b=" << int(c.b) << " n=" << n
                             << ": got " << int(yk[0]) << " want " << int(yr[0]);
        k->add(p, a.data(), b.data(), true, yk.data(), n);  // b broadcast
        QRT_EXPECT(yk == yr) << k->name << " add (b scalar) a=" << int(c.a) << " n=" << n;
      }
    }
  }
  std::printf("    %d cases\n", n_cases);
}
