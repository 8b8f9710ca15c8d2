// Scalar reference for pool_u8 (see pool_u8.h): the specification.
#include <cmath>

#include "kernels/pool_u8.h"

namespace qrt::kernels {
namespace ref {
namespace {

uint8_t requant(const PoolU8Params& p, int32_t sum, int32_t divisor) {
  float r = (static_cast<float>(sum) / static_cast<float>(divisor)) * p.mult;
  const float lo = static_cast<float>(p.qmin - p.out_zero_point);
  const float hi = static_cast<float>(p.qmax - p.out_zero_point);
  r = r > lo ? r : lo;
  r = r < hi ? r : hi;
  return static_cast<uint8_t>(p.out_zero_point + static_cast<int32_t>(std::nearbyint(r)));
}

template <class F>
void for_window(const PoolU8Params& p, size_t oh, size_t ow, F&& f) {
  for (size_t kh = 0; kh < p.KH; ++kh) {
    const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                         static_cast<ptrdiff_t>(p.pad_top);
    if (ih < 0 || ih >= static_cast<ptrdiff_t>(p.H)) continue;
    for (size_t kw = 0; kw < p.KW; ++kw) {
      const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * p.stride_w + kw * p.dilation_w) -
                           static_cast<ptrdiff_t>(p.pad_left);
      if (iw < 0 || iw >= static_cast<ptrdiff_t>(p.W)) continue;
      f(static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw));
    }
  }
}

void max_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  for (size_t oh = oh_begin; oh < oh_end; ++oh)
    for (size_t ow = 0; ow < p.OW; ++ow)
      for (size_t c = 0; c < p.C; ++c) {
        int32_t m = p.qmin;  // clamp below by qmin; also the value of an all-padding window
        for_window(p, oh, ow, [&](size_t pix) { m = x[pix * p.C + c] > m ? x[pix * p.C + c] : m; });
        y[(oh * p.OW + ow) * p.C + c] = static_cast<uint8_t>(m < p.qmax ? m : p.qmax);
      }
}

void avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y, size_t oh_begin, size_t oh_end) {
  for (size_t oh = oh_begin; oh < oh_end; ++oh)
    for (size_t ow = 0; ow < p.OW; ++ow)
      for (size_t c = 0; c < p.C; ++c) {
        int32_t sum = 0, count = 0;
        for_window(p, oh, ow, [&](size_t pix) {
          sum += x[pix * p.C + c] - p.in_zero_point;
          ++count;
        });
        const int32_t divisor = p.count_include_pad ? static_cast<int32_t>(p.KH * p.KW) : count;
        y[(oh * p.OW + ow) * p.C + c] = requant(p, sum, divisor > 0 ? divisor : 1);
      }
}

void global_avg_pool(const PoolU8Params& p, const uint8_t* x, uint8_t* y) {
  for (size_t c = 0; c < p.C; ++c) {
    int32_t sum = 0;
    for (size_t i = 0; i < p.H * p.W; ++i) sum += x[i * p.C + c] - p.in_zero_point;
    y[c] = requant(p, sum, static_cast<int32_t>(p.H * p.W > 0 ? p.H * p.W : 1));
  }
}

}  // namespace
}  // namespace ref

extern const PoolU8Kernel pool_u8_ref = {"pool_u8_ref", cpu::Isa::kRef, ref::max_pool, ref::avg_pool,
                                         ref::global_avg_pool};

}  // namespace qrt::kernels
