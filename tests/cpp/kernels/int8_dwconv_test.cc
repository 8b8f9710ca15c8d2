// dwconv_u8s8: every variant against the scalar reference, bit for bit (see kernels/dwconv_u8s8.h).
// 3x3 and 5x5, stride 1 and 2, dilation 1 and 2, C in {1, 3, 17, 33, 50, 64, 96, 127, 144, 200}
// (1..4 zmm per 64-channel block, a tail in each of the 4 vectors, several blocks), padding 0/1/2 (also
// asymmetric), zero points 0/128/255, clamps, row ranges; guard pages after every input and
// sentinel-filled output.
#include <cstring>
#include <sstream>

#include "harness.h"
#include "kernels/dwconv_u8s8.h"
#include "kernels/int8_test_util.h"

namespace {

using qrt::kernels::DwConvU8S8Kernel;
using qrt::kernels::DwConvU8S8Params;
using namespace qrt_test::int8;

std::vector<const DwConvU8S8Kernel*> simd_variants(const char* test) {
  std::vector<const DwConvU8S8Kernel*> v;
  std::vector<std::string> names;
  for (const DwConvU8S8Kernel* k : qrt::kernels::dwconv_u8s8_variants())
    if (k->isa != qrt::cpu::Isa::kRef) v.push_back(k), names.push_back(k->name);
  std::printf("    %s covers: %s\n", test, names.empty() ? "(none)" : join_names(names).c_str());
  return v;
}
const DwConvU8S8Kernel& ref_kernel() { return *qrt::kernels::dwconv_u8s8_variants().back(); }

std::string describe(const DwConvU8S8Kernel& k, const DwConvU8S8Params& p) {
  std::ostringstream os;
  os << k.name << " H=" << p.H << " W=" << p.W << " C=" << p.C << " k=" << p.KH << "x" << p.KW
     << " s=" << p.stride_h << "," << p.stride_w << " pad=" << p.pad_top << "," << p.pad_left
     << "," << p.pad_bottom << "," << p.pad_right << " dil=" << p.dilation_h << " in_zp="
     << p.in_zero_point << " out_zp=" << p.out_zero_point << " q=[" << p.qmin << "," << p.qmax
     << "]";
  return os.str();
}

bool check(const DwConvU8S8Kernel& k, DwConvU8S8Params p, uint64_t seed, bool split_rows,
           float scale_mul = 1.0f) {
  using qrt::kernels::dwconv_out_size;
  p.OH = dwconv_out_size(p.H, p.KH, p.stride_h, p.pad_top, p.pad_bottom, p.dilation_h);
  p.OW = dwconv_out_size(p.W, p.KW, p.stride_w, p.pad_left, p.pad_right, p.dilation_w);
  if (!p.OH || !p.OW) return true;
  Rng rng(seed);
  GuardedBuffer<uint8_t> x(p.H * p.W * p.C);
  GuardedBuffer<int8_t> w(p.KH * p.KW * p.C);
  GuardedBuffer<int32_t> bias(p.C);
  GuardedBuffer<float> scale(p.C);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(rng.uniform(0, 255));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(rng.uniform(-128, 127));
  for (size_t c = 0; c < p.C; ++c) {
    bias[c] = rng.uniform(-20000, 20000);
    scale[c] = rng.uniformf(0.2f, 2.0f) / (60.0f * static_cast<float>(p.KH * p.KW));
    if (c % 4 == 1) scale[c] = 1.0f / 256.0f;  // exact ties
    scale[c] *= scale_mul;
  }
  const bool with_bias = seed % 3 != 0;
  p.bias = with_bias ? bias.data() : nullptr;
  p.scale = scale.data();
  AlignedBuffer pk(k.packed_size(p.KH, p.KW, p.C, p.dilation_w)), pr(ref_kernel().packed_size(p.KH, p.KW, p.C, p.dilation_w));
  k.pack(p.KH, p.KW, p.C, p.dilation_w, w.data(), pk.data());
  ref_kernel().pack(p.KH, p.KW, p.C, p.dilation_w, w.data(), pr.data());
  QRT_EXPECT(pk.tail_intact()) << describe(k, p) << ": pack wrote past packed_size()";
  const size_t ybytes = p.OH * p.OW * p.C;
  GuardedBuffer<uint8_t> yk(ybytes), yr(ybytes);
  std::memset(yk.data(), 0xA5, ybytes);
  std::memset(yr.data(), 0xA5, ybytes);
  size_t r0 = 0, r1 = p.OH;
  if (split_rows) {  // two row ranges, and leave the first and last rows unwritten
    r0 = p.OH > 2 ? 1 : 0;
    r1 = p.OH > 2 ? p.OH - 1 : p.OH;
    const size_t mid = (r0 + r1) / 2;
    k.run(p, x.data(), pk.data(), yk.data(), r0, mid);
    k.run(p, x.data(), pk.data(), yk.data(), mid, r1);
  } else {
    k.run(p, x.data(), pk.data(), yk.data(), r0, r1);
  }
  ref_kernel().run(p, x.data(), pr.data(), yr.data(), r0, r1);
  for (size_t i = 0; i < ybytes; ++i) {
    if (yk[i] != yr[i]) {
      const size_t c = i % p.C, pix = i / p.C;
      QRT_EXPECT(false) << describe(k, p) << " rows [" << r0 << "," << r1 << "): first mismatch at oh="
                        << pix / p.OW << " ow=" << pix % p.OW << " c=" << c << " got " << int(yk[i])
                        << " want " << int(yr[i]);
      return false;
    }
  }
  return true;
}

}  // namespace

QRT_TEST(Int8DwConv, ShapesStridesPadsAllVariants) {
  auto ks = simd_variants("Int8DwConv.ShapesStridesPadsAllVariants");
  if (ks.empty()) QRT_SKIP("no SIMD dwconv_u8s8 variant runs on this CPU");
  int cases = 0, failed = 0;
  for (const DwConvU8S8Kernel* k : ks) {
    uint64_t seed = 1;
    for (size_t ks_ : {3, 5})
      for (size_t stride : {1, 2})
        for (size_t dil : {1, 2})
          for (size_t C : {1, 3, 17, 33, 50, 64, 96, 127, 144, 200})
            for (size_t pad : {0, 1, 2}) {
              DwConvU8S8Params p;
              p.H = 7 + seed % 3, p.W = 9 + seed % 4, p.C = C, p.KH = p.KW = ks_;
              p.stride_h = p.stride_w = stride;
              p.dilation_h = p.dilation_w = dil;
              p.pad_top = p.pad_left = pad;
              p.pad_bottom = p.pad_right = (seed % 2) ? pad : (pad ? pad - 1 : 0);  // asymmetric too
              const int32_t zps[] = {0, 128, 255, 7};
              p.in_zero_point = zps[seed % 4];
              p.out_zero_point = zps[(seed / 4) % 4];
              if (seed % 5 == 2) p.qmin = p.out_zero_point;  // ReLU
              if (seed % 5 == 3) p.qmin = 20, p.qmax = 200;
              ++cases;
              ++seed;
              if (!check(*k, p, seed, seed % 2 == 0)) ++failed;
            }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}

QRT_TEST(Int8DwConv, TinyAndExtremeInputs) {
  auto ks = simd_variants("Int8DwConv.TinyAndExtremeInputs");
  if (ks.empty()) QRT_SKIP("no SIMD dwconv_u8s8 variant runs on this CPU");
  int cases = 0;
  for (const DwConvU8S8Kernel* k : ks) {
    uint64_t seed = 500;
    // 1x1 and 2x2 images with large padding: most taps fall in the padding.
    for (size_t H : {1, 2})
      for (size_t C : {1, 16, 17}) {
        DwConvU8S8Params p;
        p.H = p.W = H, p.C = C, p.KH = p.KW = 5, p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 2;
        p.in_zero_point = 255, p.out_zero_point = 128;
        check(*k, p, ++seed, false), ++cases;
      }
    // Non-square kernel and strides.
    DwConvU8S8Params p;
    p.H = 11, p.W = 6, p.C = 40, p.KH = 3, p.KW = 5, p.stride_h = 2, p.stride_w = 1;
    p.pad_top = 1, p.pad_left = 2, p.pad_bottom = 1, p.pad_right = 2, p.in_zero_point = 3;
    check(*k, p, ++seed, true), ++cases;
  }
  std::printf("    %d cases\n", cases);
}

// Shapes of the k4 kernel's interleaved-column path: rows wider than its 144-column buffer
// (several column chunks per row, strides 1 and 2), MobileNetV2-like channel counts, kernels with
// more than 4 rows (two and three 4-row groups), a dilation wide enough to take the fallback, and
// requantization scales so large or small that most outputs saturate (the epilogue's int16/u8
// saturation and the float clamp against qmax).
QRT_TEST(Int8DwConv, WideRowsGroupsAndSaturation) {
  auto ks = simd_variants("Int8DwConv.WideRowsGroupsAndSaturation");
  if (ks.empty()) QRT_SKIP("no SIMD dwconv_u8s8 variant runs on this CPU");
  int cases = 0, failed = 0;
  for (const DwConvU8S8Kernel* k : ks) {
    uint64_t seed = 900;
    struct S { size_t H, W, C, KH, KW, s, d, pad; };
    const S shapes[] = {
        {4, 150, 96, 3, 3, 1, 1, 1},  {5, 301, 32, 3, 3, 2, 1, 1},  {3, 145, 144, 3, 3, 1, 1, 1},
        {6, 146, 65, 3, 3, 1, 1, 0},  {4, 290, 16, 3, 3, 2, 1, 0},  {9, 40, 40, 7, 7, 1, 1, 3},
        {12, 20, 24, 9, 3, 1, 1, 4},  {13, 30, 20, 11, 5, 2, 1, 5}, {40, 80, 18, 3, 3, 1, 80, 80},
        {7, 7, 960, 3, 3, 1, 1, 1},   {14, 14, 576, 3, 3, 2, 1, 1}, {8, 70, 1, 4, 4, 1, 1, 2},
        {6, 9, 17, 5, 1, 1, 1, 2},    {6, 9, 129, 1, 5, 1, 2, 2},
        // k4 chunks cut to fit L1: several chunks per row with many channels (one at the 16-pixel
        // floor), stride 2, and a dilated 15x11 kernel whose buffer holds fewer pixels than that.
        {4, 40, 640, 3, 3, 1, 1, 1},  {5, 90, 200, 3, 3, 2, 1, 1},  {45, 70, 300, 15, 11, 1, 3, 0},
    };
    for (const S& sh : shapes) {
      for (float mul : {1.0f, 1e4f, 1e-6f, 3e30f}) {
        DwConvU8S8Params p;
        p.H = sh.H, p.W = sh.W, p.C = sh.C, p.KH = sh.KH, p.KW = sh.KW;
        p.stride_h = p.stride_w = sh.s;
        p.dilation_h = p.dilation_w = sh.d;
        p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = sh.pad;
        const int32_t zps[] = {0, 128, 255, 7};
        p.in_zero_point = zps[seed % 4];
        p.out_zero_point = zps[(seed / 4) % 4];
        if (seed % 3 == 1) p.qmin = p.out_zero_point;                     // ReLU
        if (seed % 3 == 2) p.qmin = 3, p.qmax = p.out_zero_point < 250 ? p.out_zero_point + 5 : 255;
        ++cases;
        ++seed;
        if (!check(*k, p, seed, seed % 2 == 0, mul)) ++failed;
      }
    }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}

// The k4 kernel's two-row mode (KH = 4k + 3, stride_h 1, dilation_h 1: one interleave serves
// output rows oh and oh + 1): every small height (OH = 1, odd and even OH, so a row range may end
// on a single row), split row ranges of odd and even length, channel counts with paired blocks
// (C = 16, 32 where one 64-byte load covers two pixels, the 16-channel tail of 144), full and
// masked blocks, 7x7 and 11x3 kernels (two and three 4-row groups), stride_w 2 and dilation_w 2.
QRT_TEST(Int8DwConv, TwoRowModeHeightsAndRanges) {
  auto ks = simd_variants("Int8DwConv.TwoRowModeHeightsAndRanges");
  if (ks.empty()) QRT_SKIP("no SIMD dwconv_u8s8 variant runs on this CPU");
  int cases = 0, failed = 0;
  for (const DwConvU8S8Kernel* k : ks) {
    uint64_t seed = 2000;
    struct S { size_t KH, KW, sw, dw, pad; };
    const S kernels[] = {{3, 3, 1, 1, 1}, {3, 3, 1, 1, 0}, {3, 3, 2, 1, 1}, {3, 3, 1, 2, 2},
                         {7, 7, 1, 1, 3}, {11, 3, 1, 1, 5}, {3, 5, 1, 1, 2}};
    for (const S& kk : kernels)
      for (size_t H = 1; H <= 7; ++H)
        for (size_t C : {16, 32, 48, 64, 144}) {
          DwConvU8S8Params p;
          p.H = H, p.W = 5 + H % 3, p.C = C, p.KH = kk.KH, p.KW = kk.KW;
          p.stride_w = kk.sw, p.dilation_w = kk.dw;
          p.pad_top = p.pad_bottom = kk.KH / 2, p.pad_left = p.pad_right = kk.pad;
          if (seed % 4 == 1 && p.pad_top) p.pad_bottom = p.pad_top - 1;  // asymmetric: odd/even OH
          const int32_t zps[] = {0, 128, 255, 7};
          p.in_zero_point = zps[seed % 4];
          p.out_zero_point = zps[(seed / 4) % 4];
          if (seed % 3 == 1) p.qmin = p.out_zero_point;
          for (bool split : {false, true}) {
            ++cases;
            ++seed;
            if (!check(*k, p, seed, split)) ++failed;
          }
        }
  }
  std::printf("    %d cases, %d failed\n", cases, failed);
}
