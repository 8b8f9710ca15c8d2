// Reference depthwise convolution (specification of dwconv_f32.h): fp64 accumulation from the
// bias, one rounding to fp32, then the clamp.
#include "kernels/dwconv_f32.h"

namespace qrt::kernels::ref {

void dwconv_f32_ref(const DwConvF32Shape& s, const float* input, const float* weights,
                    const float* bias, float fmin, float fmax, float* output, size_t oy_begin,
                    size_t oy_end) {
  const size_t OW = s.out_w(), C = s.C;
  for (size_t oy = oy_begin; oy < oy_end; ++oy)
    for (size_t ox = 0; ox < OW; ++ox)
      for (size_t c = 0; c < C; ++c) {
        double acc = bias ? bias[c] : 0.0;
        for (size_t ky = 0; ky < s.KH; ++ky) {
          long iy = static_cast<long>(oy * s.stride_h + ky * s.dilation_h) -
                    static_cast<long>(s.pad_top);
          if (iy < 0 || iy >= static_cast<long>(s.H)) continue;
          for (size_t kx = 0; kx < s.KW; ++kx) {
            long ix = static_cast<long>(ox * s.stride_w + kx * s.dilation_w) -
                      static_cast<long>(s.pad_left);
            if (ix < 0 || ix >= static_cast<long>(s.W)) continue;
            acc += static_cast<double>(input[(iy * s.W + ix) * C + c]) *
                   weights[(ky * s.KW + kx) * C + c];
          }
        }
        float r = static_cast<float>(acc);
        r = fmin > r ? fmin : r;
        r = fmax < r ? fmax : r;
        output[(oy * OW + ox) * C + c] = r;
      }
}

extern const DwConvF32Kernel dwconv_f32_ref_kernel = {"dwconv_f32_ref", cpu::Isa::kRef,
                                                      dwconv_f32_ref};

}  // namespace qrt::kernels::ref
