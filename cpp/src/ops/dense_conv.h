// The GEMM behind Dense and Conv2d: weights packed once at load for the selected kernel, plus
// the epilogue parameters of the mode the dtypes select.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_u8s8.h"
#include "ops/common.h"

namespace qrt::rt {

struct LinearWeights {
  // kStatic: u8 x s8 -> u8 (requantized); kStaticF32: u8 x s8 -> f32 (dequantized, int32 bias);
  // kDynamic: f32 quantized per run x s8 -> f32; kFloat: f32 x f32/f16/bf16 -> f32.
  enum class Mode { kFloat, kStatic, kStaticF32, kDynamic };
  Mode mode = Mode::kFloat;
  size_t N = 0, K = 0;
  Activation act;
  const kernels::GemmF32Kernel* fk = nullptr;
  const kernels::GemmU8S8Kernel* qk = nullptr;
  PackedBuffer packed;
  std::vector<float> bias_f32, requant_scale, w_scale;
  std::vector<int32_t> bias_s32;
  float x_scale = 1.f;
  int32_t x_zp = 0, y_zp = 0, qmin = 0, qmax = 255;

  // w: [N, K] constant (a slice for grouped convolution); b: [N] or null.
  // `wq`: the weights' quantization when not w->quant (Conv2d hands a whole tensor's parameters
  // over without copying them into its per-group view).
  // pack = false: the weights are checked but not packed (Conv2d's Winograd paths pack their
  // own; packed buffers come from a bump slab, so packing and dropping them would keep the bytes
  // resident). Not for int8-dynamic or weight-only int8, whose GEMM always runs.
  Status init(const CreateContext& c, const format::TensorDef* x, const format::TensorDef* w,
              const format::TensorDef* b, size_t n, size_t k, bool weight_only,
              const format::QuantParams* wq = nullptr, bool pack = true);
  size_t scratch_bytes(size_t M) const;
  // C[M x N] (row stride ldc) from A[M x K] (row stride lda); dtypes per mode.
  Status compute(size_t M, const void* A, size_t lda, void* C, size_t ldc, void* scratch,
                 ThreadPool* pool) const;
  // The whole M x N product on the calling thread (kFloat, kStatic, kStaticF32 only): the unit of
  // work when a caller already splits the rows (Conv2d's fused im2col blocks).
  void run_block(size_t M, const void* A, size_t lda, void* C, size_t ldc) const;
  kernels::GemmU8S8Epilogue static_epilogue() const;
  std::string kernel_name() const;
  size_t out_elem() const { return mode == Mode::kStatic ? 1 : 4; }
  DType out_dtype() const { return mode == Mode::kStatic ? DType::kU8 : DType::kF32; }
};

// Does kernel `k` read the layout `w` is stored in? Every SIMD gemm_u8s8 variant packs the c4
// layout of its nr (tests/cpp/format/weight_layout_test.cc checks each byte for byte); the
// reference packs another one.
bool kernel_reads_layout(const kernels::GemmU8S8Kernel& k, const format::TensorDef& w);
// May the packed bytes of `w` (format 1.1, c4 layout) be handed to kernel `k` as they lie in the
// file image, for an N x K product? (Same layout and nr, and the kernel's reads stay inside.)
bool weights_in_place(const CreateContext& c, const format::TensorDef& w,
                      const kernels::GemmU8S8Kernel& k, size_t N, size_t K);

void register_dense_op(OpRegistry& r);
void register_conv2d_op(OpRegistry& r);
void register_pool2d_ops(OpRegistry& r);

}  // namespace qrt::rt
