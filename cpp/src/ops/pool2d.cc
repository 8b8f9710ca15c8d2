// NHWC pooling for f32 and u8: MaxPool2d, AvgPool2d, GlobalAvgPool2d.
// u8 max pooling keeps the input's quantization (max commutes with a monotonic affine map);
// u8 average pooling requantizes: q_out = zo + nearbyint(clamp((sum - count*zi) * si/(so*count))).
// Padding never contributes to a max; count_include_pad decides the average's divisor.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/pool_u8.h"
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
    op->u8_ = x->dtype == DType::kU8;
    if (x->dtype == DType::kU8) {
      QRT_RETURN_IF_ERROR(per_tensor_params(c, x, "input", &op->si_, &op->zi_));
      QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &op->so_, &op->zo_));
      QRT_RETURN_IF_ERROR(check_multiplier(c, static_cast<double>(op->si_ / op->so_), "pooling"));
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

  // u8 pooling through the pool_u8 kernels (bit-exact to their reference; see pool_u8.h).
  void run_u8(const Tensor& x, Tensor& y, ThreadPool* pool) const {
    const kernels::PoolU8Kernel& k = kernels::select_pool_u8();
    kernels::PoolU8Params p;
    p.H = static_cast<size_t>(x.shape[1]);
    p.W = static_cast<size_t>(x.shape[2]);
    p.C = static_cast<size_t>(x.shape[3]);
    p.OH = static_cast<size_t>(y.shape[1]);
    p.OW = static_cast<size_t>(y.shape[2]);
    p.in_zero_point = zi_;
    p.out_zero_point = zo_;
    p.mult = si_ / so_;
    const size_t N = static_cast<size_t>(x.shape[0]);
    const size_t in_img = p.H * p.W * p.C, out_img = p.OH * p.OW * p.C;
    if (kind_ == PoolKind::kGlobalAvg) {
      pool->parallel_for(N, [&](size_t n) { k.global_avg_pool(p, x.as<uint8_t>() + n * in_img, y.as<uint8_t>() + n * out_img); });
      return;
    }
    p.KH = static_cast<size_t>(kh_);
    p.KW = static_cast<size_t>(kw_);
    p.stride_h = static_cast<size_t>(sh_);
    p.stride_w = static_cast<size_t>(sw_);
    p.pad_top = static_cast<size_t>(pt_);
    p.pad_left = static_cast<size_t>(pl_);
    p.pad_bottom = static_cast<size_t>(pb_);
    p.pad_right = static_cast<size_t>(pr_);
    p.count_include_pad = include_pad_;
    const size_t rows = N * p.OH;
    const size_t tasks = std::min(rows, static_cast<size_t>(pool->threads()) * 4);
    pool->parallel_for(tasks, [&](size_t t) {
      size_t b, e;
      split_range(rows, tasks, 1, t, &b, &e);
      for (size_t r = b; r < e;) {
        size_t n = r / p.OH, oh = r % p.OH, oh_end = std::min(p.OH, oh + (e - r));
        if (kind_ == PoolKind::kMax)
          k.max_pool(p, x.as<uint8_t>() + n * in_img, y.as<uint8_t>() + n * out_img, oh, oh_end);
        else
          k.avg_pool(p, x.as<uint8_t>() + n * in_img, y.as<uint8_t>() + n * out_img, oh, oh_end);
        r += oh_end - oh;
      }
    });
  }

  Status run(const RunContext& ctx) const override {
    if (ctx.in(0).dtype == DType::kU8)
      run_u8(ctx.in(0), ctx.out(0), ctx.pool);
    else
      pool_rows<float>(ctx.in(0), ctx.out(0), ctx.pool);
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override {
    return u8_ ? kernels::select_pool_u8().name : "pool2d_f32_nhwc";
  }

 private:
  PoolKind kind_ = PoolKind::kMax;
  int64_t kh_ = 1, kw_ = 1, sh_ = 1, sw_ = 1, pt_ = 0, pl_ = 0, pb_ = 0, pr_ = 0;
  bool include_pad_ = false;
  bool u8_ = false;
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
