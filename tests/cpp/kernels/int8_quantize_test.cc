// quantize_u8: every variant against the scalar reference, bit for bit (see kernels/quantize_u8.h),
// plus the properties of choose_u8_params. Inputs end at a guard page; outputs are checked for
// writes past n (guard page) and are compared byte for byte.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "harness.h"
#include "kernels/int8_test_util.h"
#include "kernels/quantize_u8.h"

namespace {

using qrt::kernels::QuantizeU8Kernel;
using namespace qrt_test::int8;

std::vector<const QuantizeU8Kernel*> simd_variants(const char* test) {
  std::vector<const QuantizeU8Kernel*> v;
  std::vector<std::string> names;
  for (const QuantizeU8Kernel* k : qrt::kernels::quantize_u8_variants())
    if (k->isa != qrt::cpu::Isa::kRef) v.push_back(k), names.push_back(k->name);
  std::printf("    %s covers: %s\n", test, names.empty() ? "(none)" : join_names(names).c_str());
  return v;
}
const QuantizeU8Kernel& ref_kernel() { return *qrt::kernels::quantize_u8_variants().back(); }

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

enum class Fill { kRandom, kZero, kNegative, kPositive, kTies, kSignedZeros, kHuge };

void fill(GuardedBuffer<float>& x, Fill f, Rng& rng) {
  for (size_t i = 0; i < x.size(); ++i) {
    switch (f) {
      case Fill::kRandom: x[i] = rng.uniformf(-3.0f, 5.0f); break;
      case Fill::kZero: x[i] = 0.0f; break;
      case Fill::kNegative: x[i] = rng.uniformf(-7.0f, -0.001f); break;
      case Fill::kPositive: x[i] = rng.uniformf(0.001f, 0.01f); break;
      case Fill::kTies: x[i] = 0.5f * static_cast<float>(rng.uniform(-300, 300)); break;  // k/2
      case Fill::kSignedZeros: x[i] = rng.uniform(0, 1) ? -0.0f : 0.0f; break;
      case Fill::kHuge: x[i] = (rng.uniform(0, 1) ? 1 : -1) * rng.uniformf(1e30f, 3e38f); break;
    }
  }
}

// Checks minmax and (if finite) quantize of x on k vs the reference.
void check(const QuantizeU8Kernel& k, GuardedBuffer<float>& x, const std::string& what) {
  const size_t n = x.size();
  float lr = 1, hr = 1, lk = 2, hk = 2;
  const bool okr = ref_kernel().minmax(x.data(), n, &lr, &hr);
  const bool okk = k.minmax(x.data(), n, &lk, &hk);
  QRT_EXPECT_EQ(okk, okr) << k.name << " minmax finite flag, " << what << " n=" << n;
  if (!okr) return;
  QRT_EXPECT(bits(lk) == bits(lr) && bits(hk) == bits(hr))
      << k.name << " minmax " << what << " n=" << n << ": got [" << lk << "," << hk << "] want ["
      << lr << "," << hr << "]";
  float scale;
  int32_t zp;
  qrt::kernels::choose_u8_params(lr, hr, &scale, &zp);
  // Also a fixed scale of 0.5 with zp 128 (exact ties land on .5) and a narrow one that clamps.
  const std::pair<float, int32_t> params[] = {{scale, zp}, {0.5f, 128}, {0.01f, 3}};
  for (auto [s, z] : params) {
    GuardedBuffer<uint8_t> qk(n ? n : 1), qr(n ? n : 1);
    std::memset(qk.data(), 0x5A, qk.size());
    std::memset(qr.data(), 0x5A, qr.size());
    // Write into the last n bytes so that a write past n hits the guard page.
    k.quantize(x.data(), n, s, z, qk.data() + (qk.size() - n));
    ref_kernel().quantize(x.data(), n, s, z, qr.data() + (qr.size() - n));
    for (size_t i = 0; i < qk.size(); ++i) {
      if (qk[i] != qr[i]) {
        QRT_EXPECT(false) << k.name << " quantize " << what << " n=" << n << " scale=" << s
                          << " zp=" << z << ": index " << i << " got " << int(qk[i]) << " want "
                          << int(qr[i]);
        break;
      }
    }
  }
}

}  // namespace

QRT_TEST(Int8Quantize, LengthsAndPatterns) {
  auto ks = simd_variants("Int8Quantize.LengthsAndPatterns");
  if (ks.empty()) QRT_SKIP("no SIMD quantize_u8 variant runs on this CPU");
  const Fill fills[] = {Fill::kRandom, Fill::kZero,        Fill::kNegative, Fill::kPositive,
                        Fill::kTies,   Fill::kSignedZeros, Fill::kHuge};
  int cases = 0;
  for (const QuantizeU8Kernel* k : ks) {
    uint64_t seed = 1;
    std::vector<size_t> lengths;
    for (size_t n = 0; n <= 100; ++n) lengths.push_back(n);
    lengths.push_back(4093);
    lengths.push_back(100000 + 7);
    for (size_t n : lengths)
      for (Fill f : fills) {
        Rng rng(++seed);
        GuardedBuffer<float> x(n);
        fill(x, f, rng);
        check(*k, x, "fill=" + std::to_string(static_cast<int>(f)));
        ++cases;
      }
  }
  std::printf("    %d cases\n", cases);
}

// The SIMD variants take x * (1/scale) and divide only where the rounding could differ: inputs
// within a few ulps of (k + 1/2) scale and of k scale, for scales whose reciprocal is inexact
// (and 2^-120 / 2^120 / FLT_MIN / huge scales, where they divide everywhere), every zero point
// class; byte for byte against the reference's IEEE division.
QRT_TEST(Int8Quantize, NearHalfIntegerQuotients) {
  auto ks = simd_variants("Int8Quantize.NearHalfIntegerQuotients");
  if (ks.empty()) QRT_SKIP("no SIMD quantize_u8 variant runs on this CPU");
  Rng rng(99);
  std::vector<float> scales = {0.1f, 1.0f / 3, 0.0078125f, 0.037f, 7.3e-3f, 0.5f, 3.0f, 1e-3f,
                               0x1p-120f, 0x1.fffffep-121f, 0x1p120f, 0x1.000002p120f, FLT_MIN,
                               1e30f, 1e-30f};
  for (int i = 0; i < 40; ++i) scales.push_back(std::exp(rng.uniformf(-9.0f, 2.5f)));
  size_t cases = 0, differ_from_mul = 0;
  for (float sc : scales) {
    std::vector<float> x;
    for (int k = -300; k <= 300; ++k)
      for (float c : {static_cast<float>(k) + 0.5f, static_cast<float>(k)}) {
        float v = c * sc;  // rounded: lands within an ulp of the tie or integer
        for (int u = 0; u < 3; ++u) v = std::nextafter(v, -INFINITY);
        for (int u = 0; u < 7; ++u, v = std::nextafter(v, INFINITY)) x.push_back(v);
      }
    for (float v : x)
      if (std::nearbyint(v / sc) != std::nearbyint(v * (1.0f / sc))) ++differ_from_mul;
    for (int32_t zp : {0, 3, 128, 255}) {
      std::vector<uint8_t> want(x.size()), got(x.size());
      ref_kernel().quantize(x.data(), x.size(), sc, zp, want.data());
      for (const QuantizeU8Kernel* k : ks) {
        std::memset(got.data(), 0x5A, got.size());
        k->quantize(x.data(), x.size(), sc, zp, got.data());
        ++cases;
        for (size_t i = 0; i < x.size(); ++i)
          if (got[i] != want[i]) {
            QRT_EXPECT(false) << k->name << " scale=" << sc << " zp=" << zp << " x=" << x[i]
                              << ": got " << int(got[i]) << " want " << int(want[i]);
            break;
          }
      }
    }
  }
  // The inputs do reach quotients where a plain reciprocal multiply rounds differently.
  QRT_EXPECT(differ_from_mul > 0);
  std::printf("    %zu cases, %zu inputs where x * (1/scale) alone would round differently\n", cases,
              differ_from_mul);
}

// quantize_affine: every variant that has it against the reference's, and the reference's against
// the separate steps ((x - shift) rounded, * mul rounded, quantize), byte for byte: lengths 0-100
// and long, shift / mul present or not, random and near-tie values, NaN/Inf/huge inputs.
QRT_TEST(Int8Quantize, AffineEqualsSubMulQuantize) {
  using qrt::kernels::quantize_u8_variants;
  std::vector<const QuantizeU8Kernel*> ks;
  std::vector<std::string> names;
  for (const QuantizeU8Kernel* k : quantize_u8_variants())
    if (k->quantize_affine) ks.push_back(k), names.push_back(k->name);
  std::printf("    covers: %s\n", join_names(names).c_str());
  QRT_ASSERT(ref_kernel().quantize_affine != nullptr);
  Rng rng(5);
  size_t cases = 0;
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 70; ++n) lengths.push_back(n);
  lengths.push_back(1000);
  lengths.push_back(4099);
  for (size_t n : lengths)
    for (int mode = 0; mode < 4; ++mode) {
      const bool has_shift = mode & 1, has_mul = mode & 2;
      const float sc = std::exp(rng.uniformf(-6.0f, 1.0f));
      const int32_t zp = rng.uniform(0, 255);
      std::vector<float> x(n), shift(n), mul(n), u(n);
      for (size_t i = 0; i < n; ++i) {
        shift[i] = rng.uniformf(-2.0f, 2.0f);
        mul[i] = rng.uniformf(0.01f, 4.0f);
        x[i] = rng.uniformf(-20.0f, 20.0f);
        if (i % 5 == 1) {  // land (x - shift) * mul near (k + 1/2) scale
          const float t = (static_cast<float>(rng.uniform(-200, 200)) + 0.5f) * sc;
          x[i] = (has_mul ? t / mul[i] : t) + (has_shift ? shift[i] : 0.0f);
        }
      }
      const float specials[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, -0.0f};
      for (size_t i = 0; i < n && i < 6; ++i) x[(i * 11) % n] = specials[i];
      std::vector<uint8_t> chain(n), want(n), got(n);
      for (size_t i = 0; i < n; ++i) {
        float v = x[i];
        if (has_shift) v = v - shift[i];
        if (has_mul) v = v * mul[i];
        u[i] = v;
      }
      ref_kernel().quantize(u.data(), n, sc, zp, chain.data());
      const float* sp = has_shift ? shift.data() : nullptr;
      const float* mp = has_mul ? mul.data() : nullptr;
      ref_kernel().quantize_affine(x.data(), n, sp, mp, sc, zp, want.data());
      QRT_EXPECT(want == chain) << "reference quantize_affine != steps, n=" << n << " mode=" << mode;
      for (const QuantizeU8Kernel* k : ks) {
        std::fill(got.begin(), got.end(), uint8_t(0x5A));
        k->quantize_affine(x.data(), n, sp, mp, sc, zp, got.data());
        ++cases;
        for (size_t i = 0; i < n; ++i)
          if (got[i] != want[i]) {
            QRT_EXPECT(false) << k->name << " n=" << n << " mode=" << mode << " i=" << i << " x="
                              << x[i] << ": got " << int(got[i]) << " want " << int(want[i]);
            break;
          }
      }
    }
  std::printf("    %zu cases\n", cases);
}

QRT_TEST(Int8Quantize, NonFiniteDetected) {
  auto ks = simd_variants("Int8Quantize.NonFiniteDetected");
  ks.push_back(&ref_kernel());
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()};
  int cases = 0;
  for (const QuantizeU8Kernel* k : ks)
    for (size_t n : {1, 7, 8, 15, 16, 17, 33, 100, 1000})
      for (float sp : specials)
        for (size_t pos : {size_t(0), n / 2, n - 1}) {
          Rng rng(n * 31 + pos);
          GuardedBuffer<float> x(n);
          fill(x, Fill::kRandom, rng);
          x[pos] = sp;
          float lo, hi;
          QRT_EXPECT(!k->minmax(x.data(), n, &lo, &hi))
              << k->name << " missed " << sp << " at " << pos << " of n=" << n;
          ++cases;
        }
  // Quantize itself maps NaN to 0 and clamps +-Inf, identically in every variant.
  for (const QuantizeU8Kernel* k : ks) {
    GuardedBuffer<float> x(19);
    for (size_t i = 0; i < 19; ++i) x[i] = specials[i % 4];
    uint8_t qk[19], qr[19];
    k->quantize(x.data(), 19, 0.1f, 100, qk);
    ref_kernel().quantize(x.data(), 19, 0.1f, 100, qr);
    QRT_EXPECT(std::memcmp(qk, qr, 19) == 0) << k->name << " NaN/Inf quantize";
    QRT_EXPECT_EQ(int(qr[0]), 0);
    QRT_EXPECT_EQ(int(qr[2]), 255);
    QRT_EXPECT_EQ(int(qr[3]), 0);
  }
  std::printf("    %d cases\n", cases);
}

QRT_TEST(Int8Quantize, ChooseParams) {
  float s;
  int32_t z;
  qrt::kernels::choose_u8_params(0.0f, 0.0f, &s, &z);
  QRT_EXPECT(s == 1.0f && z == 0) << s << z;
  qrt::kernels::choose_u8_params(-1.0f, 1.0f, &s, &z);
  // 1 / (2/255) is 127.49999 in float, not 127.5: the float formula decides.
  QRT_EXPECT(s == 2.0f / 255.0f && z == static_cast<int32_t>(std::nearbyint(1.0f / s))) << s << z;
  qrt::kernels::choose_u8_params(0.0f, 5.0f, &s, &z);
  QRT_EXPECT_EQ(z, 0);
  qrt::kernels::choose_u8_params(-5.0f, 0.0f, &s, &z);
  QRT_EXPECT_EQ(z, 255);
  qrt::kernels::choose_u8_params(-FLT_MAX, FLT_MAX, &s, &z);
  QRT_EXPECT(std::isfinite(s) && s > 0 && z >= 127 && z <= 128) << s << z;
  qrt::kernels::choose_u8_params(-1e-44f, 1e-44f, &s, &z);
  QRT_EXPECT(s == 1.0f && z == 0) << s << z;
  // 0.0 is exactly representable for any range: quantize(0) == zp, dequantize(zp) == 0.
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    const float lo = -rng.uniformf(0.0f, 100.0f), hi = rng.uniformf(0.0f, 100.0f);
    qrt::kernels::choose_u8_params(lo, hi, &s, &z);
    QRT_EXPECT(z >= 0 && z <= 255 && s > 0) << lo << hi;
    const float zero = 0.0f;
    uint8_t q;
    ref_kernel().quantize(&zero, 1, s, z, &q);
    QRT_EXPECT_EQ(int(q), z) << lo << hi;
  }
}
