// NHWC pooling for f32 and u8: MaxPool2d, AvgPool2d, GlobalAvgPool2d.
// u8 max pooling keeps the input's quantization (max commutes with a monotonic affine map);
// u8 average pooling requantizes: q_out = zo + nearbyint(clamp((sum - count*zi) * si/(so*count))).
// Padding never contributes to a max; count_include_pad decides the average's divisor.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/common.h"
#include "ops/dense_conv.h"

namespace qrt::rt {
namespace {

enum class PoolKind { kMax, kAvg, kGlobalAvg };

class Pool2dOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c, PoolKind kind) {
    auto op = std::make_unique<Pool2dOp>();
    op->kind_ = kind;
    const format::TensorDef* x = c.input(0);
    const format::TensorDef* y = c.output(0);
    if (c.node.inputs.size() != 1 || c.node.outputs.size() != 1 || !x)
      return InvalidArgument(c.where() + "expects one input and one output");
    if (x->dtype != DType::kF32 && x->dtype != DType::kU8)
      return Unsupported(c.where() + "input dtype " + format::dtype_name(x->dtype) + " (f32 or u8)");
    if (kind != PoolKind::kGlobalAvg) {
      QRT_ASSIGN_OR_RETURN(auto k, c.attr_ints("kernel", {}));
      QRT_ASSIGN_OR_RETURN(auto s, c.attr_ints("strides", {1, 1}));
      QRT_ASSIGN_OR_RETURN(auto p, c.attr_ints("pads", {0, 0, 0, 0}));
      QRT_ASSIGN_OR_RETURN(int64_t cip, c.attr_int("count_include_pad", 0));
      if (k.size() != 2 || s.size() != 2 || p.size() != 4)
        return InvalidArgument(c.where() + "kernel and strides need 2 values, pads 4");
      for (int64_t v : k) if (v < 1 || v > 4096) return InvalidArgument(c.where() + "kernel size out of range");
      for (int64_t v : s) if (v < 1 || v > 4096) return InvalidArgument(c.where() + "stride out of range");
      for (int64_t v : p) if (v < 0 || v > 4096) return InvalidArgument(c.where() + "pad out of range");
      op->kh_ = k[0]; op->kw_ = k[1]; op->sh_ = s[0]; op->sw_ = s[1];
      op->pt_ = p[0]; op->pl_ = p[1]; op->pb_ = p[2]; op->pr_ = p[3];
      op->include_pad_ = cip != 0;
    }
    if (x->dtype == DType::kU8) {
      QRT_RETURN_IF_ERROR(per_tensor_params(c, x, "input", &op->si_, &op->zi_));
      QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &op->so_, &op->zo_));
      if (kind == PoolKind::kMax && (op->si_ != op->so_ || op->zi_ != op->zo_))
        return InvalidArgument(c.where() + "u8 max pooling needs equal input and output quantization");
    }
    return std::unique_ptr<Op>(std::move(op));
  }

  Status infer(InferContext& ctx) const override {
    const ValueInfo* x = ctx.inputs[0];
    if (x->shape.size() != 4)
      return InvalidArgument(ctx.where() + "input must be NHWC (rank 4), got " + shape_str(x->shape));
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    ctx.outputs[0]->dtype = x->dtype;
    if (kind_ == PoolKind::kGlobalAvg) {
      ctx.outputs[0]->shape = {N, 1, 1, C};
      return OkStatus();
    }
    if (H + pt_ + pb_ < kh_ || W + pl_ + pr_ < kw_)
      return InvalidArgument(ctx.where() + "input " + shape_str(x->shape) + " is smaller than the kernel");
    int64_t OH = (H + pt_ + pb_ - kh_) / sh_ + 1, OW = (W + pl_ + pr_ - kw_) / sw_ + 1;
    ctx.outputs[0]->shape = {N, OH, OW, C};
    return OkStatus();
  }

  template <typename T>
  void pool_rows(const Tensor& x, Tensor& y, ThreadPool* pool) const {
    const int64_t H = x.shape[1], W = x.shape[2], C = x.shape[3];
    const int64_t OH = y.shape[1], OW = y.shape[2];
    const int64_t kh = kind_ == PoolKind::kGlobalAvg ? H : kh_, kw = kind_ == PoolKind::kGlobalAvg ? W : kw_;
    const int64_t sh = kind_ == PoolKind::kGlobalAvg ? 1 : sh_, sw = kind_ == PoolKind::kGlobalAvg ? 1 : sw_;
    const int64_t pt = kind_ == PoolKind::kGlobalAvg ? 0 : pt_, pl = kind_ == PoolKind::kGlobalAvg ? 0 : pl_;
    const T* in = x.as<T>();
    T* out = y.as<T>();
    const size_t rows = static_cast<size_t>(y.shape[0] * OH);
    pool->parallel_for(rows, [&](size_t r) {
      int64_t n = static_cast<int64_t>(r) / OH, oh = static_cast<int64_t>(r) % OH;
      std::vector<float> acc(static_cast<size_t>(C));
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * sh - pt, w0 = ow * sw - pl;
        int64_t h1 = std::min(h0 + kh, H), w1 = std::min(w0 + kw, W);
        int64_t hs = std::max<int64_t>(h0, 0), ws = std::max<int64_t>(w0, 0);
        T* dst = out + ((n * OH + oh) * OW + ow) * C;
        if (kind_ == PoolKind::kMax) {
          for (int64_t c = 0; c < C; ++c) dst[c] = std::numeric_limits<T>::lowest();
          for (int64_t ih = hs; ih < h1; ++ih)
            for (int64_t iw = ws; iw < w1; ++iw) {
              const T* src = in + ((n * H + ih) * W + iw) * C;
              for (int64_t c = 0; c < C; ++c) dst[c] = std::max(dst[c], src[c]);
            }
          continue;
        }
        int64_t count = (h1 - hs) * (w1 - ws);
        if (include_pad_ && kind_ == PoolKind::kAvg)
          count = (std::min(h0 + kh, H + pb_) - h0) * (std::min(w0 + kw, W + pr_) - w0);
        if constexpr (std::is_same_v<T, float>) {
          std::fill(acc.begin(), acc.end(), 0.f);
          for (int64_t ih = hs; ih < h1; ++ih)
            for (int64_t iw = ws; iw < w1; ++iw) {
              const float* src = in + ((n * H + ih) * W + iw) * C;
              for (int64_t c = 0; c < C; ++c) acc[c] += src[c];
            }
          float inv = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
          for (int64_t c = 0; c < C; ++c) dst[c] = acc[c] * inv;
        } else {
          std::vector<int32_t> sum(static_cast<size_t>(C), 0);
          for (int64_t ih = hs; ih < h1; ++ih)
            for (int64_t iw = ws; iw < w1; ++iw) {
              const uint8_t* src = in + ((n * H + ih) * W + iw) * C;
              for (int64_t c = 0; c < C; ++c) sum[c] += src[c];
            }
          // Padded positions hold the real value 0, i.e. the zero point.
          int64_t real_count = (h1 - hs) * (w1 - ws);
          float mult = count > 0 ? si_ / (so_ * static_cast<float>(count)) : 0.f;
          float lo = static_cast<float>(-zo_), hi = static_cast<float>(255 - zo_);
          for (int64_t c = 0; c < C; ++c) {
            float r = static_cast<float>(sum[c] - real_count * zi_) * mult;
            r = std::min(std::max(r, lo), hi);
            dst[c] = static_cast<uint8_t>(zo_ + static_cast<int32_t>(std::nearbyint(r)));
          }
        }
      }
    });
  }

  Status run(const RunContext& ctx) const override {
    if (ctx.in(0).dtype == DType::kU8)
      pool_rows<uint8_t>(ctx.in(0), ctx.out(0), ctx.pool);
    else
      pool_rows<float>(ctx.in(0), ctx.out(0), ctx.pool);
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override { return "pool2d_nhwc_ref"; }

 private:
  PoolKind kind_ = PoolKind::kMax;
  int64_t kh_ = 1, kw_ = 1, sh_ = 1, sw_ = 1, pt_ = 0, pl_ = 0, pb_ = 0, pr_ = 0;
  bool include_pad_ = false;
  float si_ = 1.f, so_ = 1.f;
  int32_t zi_ = 0, zo_ = 0;
};

}  // namespace

void register_pool2d_ops(OpRegistry& r) {
  r.add("MaxPool2d", [](const CreateContext& c) { return Pool2dOp::create(c, PoolKind::kMax); });
  r.add("AvgPool2d", [](const CreateContext& c) { return Pool2dOp::create(c, PoolKind::kAvg); });
  r.add("GlobalAvgPool2d",
        [](const CreateContext& c) { return Pool2dOp::create(c, PoolKind::kGlobalAvg); });
}

void register_dense_conv_ops(OpRegistry& r) {
  register_dense_op(r);
  register_conv2d_op(r);
  register_pool2d_ops(r);
}

}  // namespace qrt::rt
