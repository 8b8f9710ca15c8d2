// Scalar reference for im2col_u8 (see im2col_u8.h): the specification.
#include "kernels/im2col_u8.h"

namespace qrt::kernels {
namespace ref {
namespace {

void im2col(const Im2ColU8Params& p, const uint8_t* x, uint8_t* out, size_t ldo, size_t p_begin,
            size_t p_end) {
  for (size_t pix = p_begin; pix < p_end; ++pix) {
    const size_t oh = pix / p.OW, ow = pix % p.OW;
    uint8_t* row = out + (pix - p_begin) * ldo;
    for (size_t kh = 0; kh < p.KH; ++kh)
      for (size_t kw = 0; kw < p.KW; ++kw) {
        const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * p.stride_h + kh * p.dilation_h) -
                             static_cast<ptrdiff_t>(p.pad_top);
        const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * p.stride_w + kw * p.dilation_w) -
                             static_cast<ptrdiff_t>(p.pad_left);
        const bool valid = ih >= 0 && ih < static_cast<ptrdiff_t>(p.H) && iw >= 0 &&
                           iw < static_cast<ptrdiff_t>(p.W);
        for (size_t c = 0; c < p.Cg; ++c)
          row[(kh * p.KW + kw) * p.Cg + c] =
              valid ? x[(static_cast<size_t>(ih) * p.W + static_cast<size_t>(iw)) * p.C_total + p.c_begin + c]
                    : p.zero_point;
      }
  }
}

}  // namespace
}  // namespace ref

extern const Im2ColU8Kernel im2col_u8_ref = {"im2col_u8_ref", cpu::Isa::kRef, ref::im2col};

}  // namespace qrt::kernels
