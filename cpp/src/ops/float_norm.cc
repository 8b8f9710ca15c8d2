// Normalisations with ONNX semantics, f32:
//   Softmax(axis = -1)                   opset 13: one axis, max-subtracted, rows in parallel
//                                        (contiguous rows: kernels::softmax_row, SIMD)
//   LogSoftmax(axis = -1)                opset 13: x - max - log(sum exp(x - max)), the sum in f64
//   LayerNormalization(axis = -1, epsilon = 1e-5; X, Scale, B?) -> Y, Mean?, InvStdDev?
//                                        statistics over dims [axis, rank): Y alone through
//                                        kernels::layernorm_row (SIMD, f32 two-pass); with the
//                                        Mean/InvStdDev outputs accumulated in f64
//   BatchNormalization(epsilon = 1e-5)   inference mode: X [N, C, ...] with per-channel
//                                        scale, B, input_mean, input_var
//   InstanceNormalization(epsilon = 1e-5) X [N, C, D...]: statistics per (n, c) in f64
#include <cmath>

#include "kernels/vmath.h"
#include "ops/broadcast.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

// Splits a shape at `axis` into outer x n x inner.
void split3(const Shape& s, int64_t axis, size_t* outer, size_t* n, size_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t i = 0; i < axis; ++i) *outer *= static_cast<size_t>(s[i]);
  *n = static_cast<size_t>(s[axis]);
  for (size_t i = axis + 1; i < s.size(); ++i) *inner *= static_cast<size_t>(s[i]);
}

class SoftmaxOp : public Op {
 public:
  explicit SoftmaxOp(bool log = false) : log_(log) {}
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", -1));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    const Shape& s = c.inputs[0]->shape;
    int64_t a;
    if (s.empty()) return InvalidArgument(c.where() + "input must have rank >= 1, got a scalar");
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, static_cast<int64_t>(s.size()), &a));
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = s;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Shape& s = c.in(0).shape;
    int64_t a = axis_ < 0 ? axis_ + static_cast<int64_t>(s.size()) : axis_;
    size_t outer, n, inner;
    split3(s, a, &outer, &n, &inner);
    const float* x = c.in(0).as<float>();
    float* y = c.out(0).as<float>();
    if (outer * n * inner == 0) return OkStatus();
    if (log_) {
      parallel_range(c.pool, outer, 1, [&](size_t b, size_t e) {
        for (size_t o = b; o < e; ++o)
          for (size_t i = 0; i < inner; ++i) {
            const float* xo = x + o * n * inner + i;
            float* yo = y + o * n * inner + i;
            float mx = xo[0];
            for (size_t k = 1; k < n; ++k) mx = std::max(mx, xo[k * inner]);
            double sum = 0.0;
            for (size_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(xo[k * inner]) - mx);
            const float lse = static_cast<float>(std::log(sum));
            for (size_t k = 0; k < n; ++k) yo[k * inner] = (xo[k * inner] - mx) - lse;
          }
      });
      return OkStatus();
    }
    if (inner == 1) {
      const kernels::SoftmaxRowFn row = kernels::select_vmath().softmax_row;  // once per run
      parallel_range(c.pool, outer, std::max<size_t>(1, 8192 / n), [&](size_t b, size_t e) {
        for (size_t r = b; r < e; ++r) row(x + r * n, y + r * n, n);
      });
      return OkStatus();
    }
    // Axis not innermost: work on [n, inner] blocks with inner-contiguous running max / sum.
    parallel_range(c.pool, outer, 1, [&](size_t b, size_t e) {
      std::vector<float> mx(inner), sum(inner);
      for (size_t o = b; o < e; ++o) {
        const float* xo = x + o * n * inner;
        float* yo = y + o * n * inner;
        std::copy(xo, xo + inner, mx.begin());
        for (size_t k = 1; k < n; ++k)
          for (size_t i = 0; i < inner; ++i) mx[i] = std::max(mx[i], xo[k * inner + i]);
        std::fill(sum.begin(), sum.end(), 0.f);
        for (size_t k = 0; k < n; ++k)
          for (size_t i = 0; i < inner; ++i) {
            float v = std::exp(xo[k * inner + i] - mx[i]);
            yo[k * inner + i] = v;
            sum[i] += v;
          }
        for (size_t i = 0; i < inner; ++i) sum[i] = 1.f / sum[i];
        for (size_t k = 0; k < n; ++k)
          for (size_t i = 0; i < inner; ++i) yo[k * inner + i] *= sum[i];
      }
    });
    return OkStatus();
  }

 private:
  int64_t axis_ = -1;
  bool log_ = false;
};

class LayerNormOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 2, 3, 1, 3));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", -1));
    QRT_ASSIGN_OR_RETURN(eps_, c.attr_float("epsilon", 1e-5f));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    const Shape& s = c.inputs[0]->shape;
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, static_cast<int64_t>(s.size()), &a));
    Shape norm(s.begin() + a, s.end());
    size_t norm_n = shape_numel(norm);
    for (size_t i = 1; i < c.inputs.size(); ++i) {
      if (!c.inputs[i]) continue;
      QRT_RETURN_IF_ERROR(expect_dtype(c, i, {DType::kF32}));
      Shape b;
      if (!broadcast_shape({&norm, &c.inputs[i]->shape}, &b) || b != norm)
        return InvalidArgument(c.where() + (i == 1 ? "Scale" : "B") + " shape " +
                               shape_str(c.inputs[i]->shape) +
                               " does not broadcast to the normalized shape " + shape_str(norm));
    }
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = s;
    Shape stat = s;
    for (size_t i = a; i < stat.size(); ++i) stat[i] = 1;
    for (size_t i = 1; i < c.outputs.size(); ++i) {
      if (!c.outputs[i]) continue;
      c.outputs[i]->dtype = DType::kF32;
      c.outputs[i]->shape = stat;
    }
    c.scratch_bytes = 2 * norm_n * sizeof(float);
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Shape& s = c.in(0).shape;
    int64_t a = axis_ < 0 ? axis_ + static_cast<int64_t>(s.size()) : axis_;
    Shape norm(s.begin() + a, s.end());
    const size_t n = shape_numel(norm), rows = c.in(0).numel() / std::max<size_t>(n, 1);
    if (n == 0 || rows == 0) return OkStatus();
    // Scale and bias expanded to the normalized shape when they broadcast.
    float* scratch = static_cast<float*>(c.scratch);
    const float* scale = expand(c, 1, norm, scratch, 1.f);
    const float* bias = expand(c, 2, norm, scratch + n, 0.f);
    const float* x = c.in(0).as<float>();
    float* y = c.out(0).as<float>();
    float* mean_out = c.num_outputs > 1 && c.outputs[1] ? c.out(1).as<float>() : nullptr;
    float* inv_out = c.num_outputs > 2 && c.outputs[2] ? c.out(2).as<float>() : nullptr;
    if (!mean_out && !inv_out) {  // SIMD row kernel (f32 two-pass statistics)
      const kernels::LayerNormRowFn row = kernels::select_vmath().layernorm_row;
      const float eps = eps_;
      parallel_range(c.pool, rows, std::max<size_t>(1, 8192 / n), [&](size_t b, size_t e) {
        for (size_t r = b; r < e; ++r) row(x + r * n, scale, bias, eps, y + r * n, n);
      });
      return OkStatus();
    }
    const double eps = eps_;
    parallel_range(c.pool, rows, std::max<size_t>(1, 4096 / n), [&](size_t b, size_t e) {
      for (size_t r = b; r < e; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        double sum = 0.0;
        for (size_t i = 0; i < n; ++i) sum += xr[i];
        const double mean = sum / static_cast<double>(n);
        double var = 0.0;
        for (size_t i = 0; i < n; ++i) {
          double d = xr[i] - mean;
          var += d * d;
        }
        var /= static_cast<double>(n);
        const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
        const float m = static_cast<float>(mean);
        for (size_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) * inv * scale[i] + bias[i];
        if (mean_out) mean_out[r] = m;
        if (inv_out) inv_out[r] = inv;
      }
    });
    return OkStatus();
  }

 private:
  static const float* expand(const RunContext& c, size_t i, const Shape& norm, float* buf,
                             float def) {
    const size_t n = shape_numel(norm);
    if (!c.has_in(i)) {
      std::fill(buf, buf + n, def);
      return buf;
    }
    const Tensor& t = c.in(i);
    if (t.numel() == n) return t.as<float>();
    broadcast_binary(nullptr, t.as<float>(), t.shape, buf, Shape{}, buf, norm,
                     [](float v, float) { return v; });
    return buf;
  }
  int64_t axis_ = -1;
  float eps_ = 1e-5f;
};

class BatchNormOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 5, 5, 1, 3));
    QRT_ASSIGN_OR_RETURN(eps_, c.attr_float("epsilon", 1e-5f));
    QRT_ASSIGN_OR_RETURN(int64_t training, c.attr_int("training_mode", 0));
    if (training != 0)
      return Unsupported(c.where() + "training_mode=1 is not supported (inference only)");
    if (c.node.outputs.size() > 1)
      return Unsupported(c.where() + "running mean/var outputs are training-mode only");
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    const Shape& s = c.inputs[0]->shape;
    if (s.size() < 2)
      return InvalidArgument(c.where() + "X must have rank >= 2 ([N, C, ...]), got shape " +
                             shape_str(s));
    static const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
    for (size_t i = 1; i < 5; ++i) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, i, {DType::kF32}));
      if (c.inputs[i]->shape != Shape{s[1]})
        return InvalidArgument(c.where() + names[i] + " must have shape [" + std::to_string(s[1]) +
                               "], got " + shape_str(c.inputs[i]->shape));
    }
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = s;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Shape& s = c.in(0).shape;
    size_t outer, ch, inner;
    split3(s, 1, &outer, &ch, &inner);
    std::vector<float> mul(ch), add(ch);
    const float *sc = c.in(1).as<float>(), *b = c.in(2).as<float>();
    const float *mean = c.in(3).as<float>(), *var = c.in(4).as<float>();
    for (size_t k = 0; k < ch; ++k) {
      mul[k] = sc[k] / std::sqrt(var[k] + eps_);
      add[k] = b[k] - mean[k] * mul[k];
    }
    const float* x = c.in(0).as<float>();
    float* y = c.out(0).as<float>();
    parallel_range(c.pool, outer * ch, std::max<size_t>(1, 16384 / std::max<size_t>(inner, 1)),
                   [&](size_t bg, size_t e) {
                     for (size_t r = bg; r < e; ++r) {
                       const float m = mul[r % ch], a = add[r % ch];
                       for (size_t i = 0; i < inner; ++i)
                         y[r * inner + i] = x[r * inner + i] * m + a;
                     }
                   });
    return OkStatus();
  }

 private:
  float eps_ = 1e-5f;
};

// InstanceNormalization(X [N, C, D...], scale [C], B [C]): per (n, c) over D..., mean and
// variance (biased) in f64, y = scale * (x - mean) / sqrt(var + epsilon) + B. PyTorch exports
// GroupNorm (opset < 18) as Reshape -> InstanceNormalization -> Reshape -> Mul -> Add.
class InstanceNormOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 3, 3, 1, 1));
    QRT_ASSIGN_OR_RETURN(eps_, c.attr_float("epsilon", 1e-5f));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    const Shape& s = c.inputs[0]->shape;
    if (s.size() < 3)
      return InvalidArgument(c.where() + "X must have rank >= 3 ([N, C, D1, ...]), got shape " + shape_str(s));
    static const char* names[] = {"", "scale", "B"};
    for (size_t i = 1; i < 3; ++i) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, i, {DType::kF32}));
      if (c.inputs[i]->shape != Shape{s[1]})
        return InvalidArgument(c.where() + names[i] + " must have shape [" + std::to_string(s[1]) + "], got " +
                               shape_str(c.inputs[i]->shape));
    }
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = s;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    size_t outer, ch, inner;
    split3(c.in(0).shape, 1, &outer, &ch, &inner);
    const float *x = c.in(0).as<float>(), *sc = c.in(1).as<float>(), *b = c.in(2).as<float>();
    float* y = c.out(0).as<float>();
    if (inner == 0) return OkStatus();
    parallel_range(c.pool, outer * ch, std::max<size_t>(1, 4096 / inner), [&](size_t bg, size_t e) {
      for (size_t r = bg; r < e; ++r) {
        const float* xr = x + r * inner;
        double sum = 0;
        for (size_t i = 0; i < inner; ++i) sum += xr[i];
        const double mean = sum / static_cast<double>(inner);
        double sq = 0;
        for (size_t i = 0; i < inner; ++i) sq += (xr[i] - mean) * (xr[i] - mean);
        const double inv = 1.0 / std::sqrt(sq / static_cast<double>(inner) + static_cast<double>(eps_));
        // (x - mean) * m + B rather than x * m + (B - mean * m): no cancellation when |mean|
        // is large against the deviation.
        const float m = static_cast<float>(sc[r % ch] * inv), mu = static_cast<float>(mean), a = b[r % ch];
        float* yr = y + r * inner;
        for (size_t i = 0; i < inner; ++i) yr[i] = (xr[i] - mu) * m + a;
      }
    });
    return OkStatus();
  }

 private:
  float eps_ = 1e-5f;
};

}  // namespace

void register_norm_ops(OpRegistry& r) {
  r.add("InstanceNormalization", make_factory<InstanceNormOp>());
  r.add("Softmax", make_factory<SoftmaxOp>());
  r.add("LogSoftmax", make_factory<SoftmaxOp>(true));
  r.add("LayerNormalization", make_factory<LayerNormOp>());
  r.add("BatchNormalization", make_factory<BatchNormOp>());
}

}  // namespace qrt::rt::ops
