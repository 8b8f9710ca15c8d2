// Depthwise 2-D convolution, u8 activations x s8 weights -> u8 (NHWC, one image per call).
//
// Contract (ref/dwconv_u8s8_ref.cc is the specification; SIMD variants equal it bit for bit):
//   For output pixel (oh, ow) and channel c:
//     ih = oh * stride_h - pad_top + kh * dilation_h,   iw = ow * stride_w - pad_left + kw * dilation_w
//     acc = bias[c] + sum over (kh, kw) with 0 <= ih < H and 0 <= iw < W of
//                     (x[ih][iw][c] - in_zero_point) * w[kh][kw][c]          (int32, modulo 2^32)
//     (a tap in the padding reads the input zero point, so it contributes exactly 0)
//     r = (float)acc * scale[c];  r = min(max(r, qmin - out_zero_point), qmax - out_zero_point)
//     y[oh][ow][c] = (uint8)(out_zero_point + nearbyint(r))          (as the gemm_u8s8 epilogue)
// Layouts: x is H x W x C u8 (pixel stride C), y is OH x OW x C u8, weights are [KH][KW][C] s8
// (ONNX/TFLite depthwise weights [C][1][KH][KW] must be transposed by the caller before pack()).
// Kernels never read x outside H x W x C, nor write y outside rows [oh_begin, oh_end).
// Threading: run() computes output rows [oh_begin, oh_end); distinct row ranges may run
// concurrently on the same packed weights. OH/OW are given (the caller computed them with the
// usual formula floor((H + pad_top + pad_bottom - dilation_h*(KH-1) - 1) / stride_h) + 1); the
// kernel trusts them; pad_bottom/pad_right are recorded for validation and documentation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/features.h"

namespace qrt::kernels {

struct DwConvU8S8Params {
  size_t H = 0, W = 0, C = 0;
  size_t KH = 3, KW = 3;
  size_t stride_h = 1, stride_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  size_t dilation_h = 1, dilation_w = 1;
  size_t OH = 0, OW = 0;
  int32_t in_zero_point = 0;       // 0..255
  int32_t out_zero_point = 0;      // 0..255
  int32_t qmin = 0, qmax = 255;    // 0 <= qmin <= qmax <= 255
  const int32_t* bias = nullptr;   // [C] or null (= 0)
  const float* scale = nullptr;    // [C], finite and > 0: in_scale * w_scale[c] / out_scale
};

// OH / OW from the usual formula (0 if the kernel does not fit).
size_t dwconv_out_size(size_t in, size_t k, size_t stride, size_t pad_a, size_t pad_b, size_t dil);

struct DwConvU8S8Kernel {
  const char* name;  // e.g. "dwconv_u8s8_c16_avx512"
  cpu::Isa isa;
  // The packed weights for run() with this dilation_w (most variants ignore it; the k4 VNNI
  // kernel packs its wide-span fallback only when the span needs it).
  size_t (*packed_size)(size_t KH, size_t KW, size_t C, size_t dilation_w);
  // Packs w ([KH][KW][C] s8) into `packed` (64-byte aligned, packed_size bytes).
  void (*pack)(size_t KH, size_t KW, size_t C, size_t dilation_w, const int8_t* w, void* packed);
  void (*run)(const DwConvU8S8Params& p, const uint8_t* x, const void* packed, uint8_t* y,
              size_t oh_begin, size_t oh_end);
};

const std::vector<const DwConvU8S8Kernel*>& dwconv_u8s8_variants();

// Internal, for the x86 variants' pack(): int32 [KH*KW][cp] (each weight sign-extended, zero
// beyond C), then int32 wsum[cp] = each channel's weight sum; (KH*KW + 1) * cp * 4 bytes.
void pack_dwords_with_sums(size_t taps, size_t C, size_t cp, const int8_t* w, void* packed);
const DwConvU8S8Kernel& select_dwconv_u8s8();

}  // namespace qrt::kernels
