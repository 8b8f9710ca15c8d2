// Depthwise-convolution benchmark on MobileNet-style layers (NHWC, 1 thread).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "float_bench.h"
#include "kernels/dwconv_f32.h"

namespace qrt::bench_float {

std::vector<Result> bench_dwconv_f32(bool quick) {
  struct L {
    size_t H, W, C, k, stride;
  };
  const L layers[] = {{112, 112, 32, 3, 1}, {56, 56, 128, 3, 1}, {56, 56, 144, 3, 2},
                      {28, 28, 256, 5, 1},  {14, 14, 576, 3, 1}, {14, 14, 480, 5, 2}};
  std::vector<Result> out;
  for (const L& l : layers) {
    kernels::DwConvF32Shape s;
    s.H = l.H;
    s.W = l.W;
    s.C = l.C;
    s.KH = s.KW = l.k;
    s.stride_h = s.stride_w = l.stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = l.k / 2;
    std::vector<float> in(s.H * s.W * s.C, 0.5f), w(l.k * l.k * s.C, 0.1f), bias(s.C, 0.f),
        o(s.out_h() * s.out_w() * s.C);
    double flops = 2.0 * l.k * l.k * s.out_h() * s.out_w() * s.C;
    for (const kernels::DwConvF32Kernel* k : kernels::dwconv_f32_variants()) {
      if (k->isa == cpu::Isa::kRef && quick) continue;
      double t = time_best([&] {
        k->run(s, in.data(), w.data(), bias.data(), 0.f, 6.f, o.data(), 0, s.out_h());
      }, quick ? 0.005 : 0.01, quick ? 3 : 15);
      Result r;
      r.bench = "dwconv_f32";
      r.kernel = k->name;
      r.dtype = "f32";
      char buf[96];
      std::snprintf(buf, sizeof buf, "%zux%zux%zu k%zu s%zu", l.H, l.W, l.C, l.k, l.stride);
      r.shape = buf;
      r.seconds = t;
      r.gflops = flops / t * 1e-9;
      r.melem_s = s.out_h() * s.out_w() * s.C / t * 1e-6;
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace qrt::bench_float
