// Scalar reference for dwconv_u8s8 (see dwconv_u8s8.h): the specification.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/dwconv_u8s8.h"

namespace qrt::kernels {
namespace ref {
namespace {

size_t packed_size(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/) { return KH * KW * C; }

void pack(size_t KH, size_t KW, size_t C, size_t /*dilation_w*/, const int8_t* w, void* packed) {
  std::memcpy(packed, w, KH * KW * C);
}

void run(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
         size_t oh_begin, size_t oh_end) {
  const int8_t* w = static_cast<const int8_t*>(packed);
  const float lo = static_cast<float>(p.qmin - p.out_zero_point);
  const float hi = static_cast<float>(p.qmax - p.out_zero_point);
  for (size_t oh = oh_begin; oh < oh_end; ++oh)
    for (size_t ow = 0; ow < p.OW; ++ow)
      for (size_t c = 0; c < p.C; ++c) {
        uint32_t acc = p.bias ? static_cast<uint32_t>(p.bias[c]) : 0u;  // modulo 2^32
        for (size_t kh = 0; kh < p.KH; ++kh) {
          const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                               static_cast<ptrdiff_t>(p.pad_top);
          if (ih < 0 || ih >= static_cast<ptrdiff_t>(p.H)) continue;
          for (size_t kw = 0; kw < p.KW; ++kw) {
            const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * p.stride_w + kw * p.dilation_w) -
                                 static_cast<ptrdiff_t>(p.pad_left);
            if (iw < 0 || iw >= static_cast<ptrdiff_t>(p.W)) continue;
            const int32_t xv = x[(static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw)) * p.C + c];
            acc += static_cast<uint32_t>((xv - p.in_zero_point) * w[(kh * p.KW + kw) * p.C + c]);
          }
        }
        float r = static_cast<float>(static_cast<int32_t>(acc)) * p.scale[c];
        r = std::min(std::max(r, lo), hi);
        y[(oh * p.OW + ow) * p.C + c] =
            static_cast<uint8_t>(p.out_zero_point + static_cast<int32_t>(std::nearbyint(r)));
      }
}

}  // namespace
}  // namespace ref

extern const DwConvU8S8Kernel dwconv_u8s8_ref = {"dwconv_u8s8_ref", cpu::Isa::kRef,
                                                 ref::packed_size, ref::pack, ref::run};

}  // namespace qrt::kernels
