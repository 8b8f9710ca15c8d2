// Quantize/dequantize boundaries and the requantizing u8 Add/Mul.
// QuantizeLinear:   q = clamp(zp + nearbyint(x / scale), qmin, qmax) with the OUTPUT record's
//                   per-tensor (scale, zp); NaN maps to qmin (the u8 kernel's documented rule).
// AffineQuantize (qrt op): QuantizeLinear((act(x) - shift) * mul), act from the attribute
//                   `activation` ("none" | "gelu" | "gelu_tanh"), optional shift, mul of shape [C]
//                   along the last axis of x (absent: the step is skipped). The converter's
//                   SmoothQuant Sub -> Mul -> QuantizeLinear chain, and a Gelu feeding a quantized
//                   Dense, in one pass. Per element: the Gelu op's kernel, t = a - shift[c],
//                   u = t * mul[c] (one fp32 rounding each, no FMA), then QuantizeLinear's u8
//                   rule: the activation into an L1-resident buffer, then Sub, Mul and the
//                   quantization in one pass (quantize_u8's quantize_affine, specified as the
//                   separate steps). "none" and "gelu_tanh" equal the unfused chain bit for bit;
//                   "gelu" runs vmath's gelu_q (|error| <= 2e-6, ~3x faster than the Gelu op's
//                   kernel where the CPU has it), so a byte may differ from the chain's by one
//                   where the quotient lies within ~2e-6 / scale of a rounding boundary (tests:
//                   at most 0.1 % of the bytes; docs/ARCHITECTURE.md says why). u8 only.
// DequantizeLinear: x = scale[c] * (q - zp[c]) with the INPUT record's per-tensor or per-axis params.
// u8 Add: real = sa(qa - za) + sb(qb - zb);  q = zo + nearbyint(clamp(real / so));  Mul likewise
// with the product. Inputs broadcast numpy-style (the common cases: same shape, or one scalar).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/eltwise_f32.h"
#include "kernels/qelementwise_u8.h"
#include "kernels/quantize_u8.h"
#include "kernels/vmath.h"
#include "ops/common.h"
#include "ops/fusion.h"
#include "ops/op_util.h"

namespace qrt::rt {
namespace {

class QuantizeOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c) {
    auto op = std::make_unique<QuantizeOp>();
    const format::TensorDef* x = c.input(0);
    const format::TensorDef* y = c.output(0);
    if (!x || !y || c.node.outputs.size() != 1)
      return InvalidArgument(c.where() + "expects one input and one output");
    if (x->dtype != DType::kF32) return Unsupported(c.where() + "input must be f32");
    if (y->dtype != DType::kU8 && y->dtype != DType::kS8)
      return Unsupported(c.where() + "output must be u8 or s8");
    QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &op->scale_, &op->zp_));
    op->s8_ = y->dtype == DType::kS8;
    int32_t lo = op->s8_ ? -128 : 0, hi = op->s8_ ? 127 : 255;
    if (op->zp_ < lo || op->zp_ > hi) return InvalidArgument(c.where() + "zero point out of range");
    return std::unique_ptr<Op>(std::move(op));
  }
  Status infer(InferContext& ctx) const override {
    ctx.outputs[0]->shape = ctx.inputs[0]->shape;
    ctx.outputs[0]->dtype = s8_ ? DType::kS8 : DType::kU8;
    return OkStatus();
  }
  Status run(const RunContext& ctx) const override {
    const float* x = ctx.in(0).as<float>();
    size_t n = ctx.in(0).numel();
    if (!s8_) {
      const auto& k = kernels::select_quantize_u8();
      size_t T = static_cast<size_t>(ctx.pool->threads());
      size_t tasks = n >= 65536 ? T : 1;
      ctx.pool->parallel_for(tasks, [&](size_t t) {
        size_t b, e;
        split_range(n, tasks, 64, t, &b, &e);
        if (b < e) k.quantize(x + b, e - b, scale_, zp_, ctx.out(0).as<uint8_t>() + b);
      });
      return OkStatus();
    }
    int8_t* q = ctx.out(0).as<int8_t>();
    for (size_t i = 0; i < n; ++i) {
      float v = x[i] / scale_;
      float lo = static_cast<float>(-128 - zp_), hi = static_cast<float>(127 - zp_);
      v = v >= lo ? v : lo;  // NaN -> lo
      v = v <= hi ? v : hi;
      q[i] = static_cast<int8_t>(zp_ + static_cast<int32_t>(std::nearbyint(v)));
    }
    return OkStatus();
  }
  std::string kernel_name() const override {
    return s8_ ? "quantize_f32s8_ref" : kernels::select_quantize_u8().name;
  }
  bool u8_params(float* scale, int32_t* zp) const {
    *scale = scale_, *zp = zp_;
    return !s8_;
  }

 private:
  float scale_ = 1.f;
  int32_t zp_ = 0;
  bool s8_ = false;
};

class AffineQuantizeOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c) {
    auto op = std::make_unique<AffineQuantizeOp>();
    QRT_RETURN_IF_ERROR(ops::check_arity(c, 1, 3, 1, 1));
    const format::TensorDef* y = c.output(0);
    if (y->dtype != DType::kU8) return Unsupported(c.where() + "output must be u8");
    QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &op->scale_, &op->zp_));
    if (op->zp_ < 0 || op->zp_ > 255) return InvalidArgument(c.where() + "zero point out of range");
    QRT_ASSIGN_OR_RETURN(std::string act, c.attr_string("activation", "none"));
    if (act == "gelu") op->act_ = Act::kGelu;
    else if (act == "gelu_tanh") op->act_ = Act::kGeluTanh;
    else if (act != "none")
      return InvalidArgument(c.where() + "activation must be \"none\", \"gelu\" or \"gelu_tanh\", got \"" + act + "\"");
    return std::unique_ptr<Op>(std::move(op));
  }
  Status infer(InferContext& ctx) const override {
    QRT_RETURN_IF_ERROR(ops::expect_dtype(ctx, 0, {DType::kF32}));
    const Shape& s = ctx.inputs[0]->shape;
    if (s.empty()) return InvalidArgument(ctx.where() + "input must have rank >= 1, got a scalar");
    for (size_t i = 1; i < ctx.inputs.size(); ++i) {
      if (!ctx.inputs[i]) continue;
      QRT_RETURN_IF_ERROR(ops::expect_dtype(ctx, i, {DType::kF32}));
      const Shape& v = ctx.inputs[i]->shape;
      if (v.size() != 1 || v[0] != s.back())
        return InvalidArgument(ctx.where() + (i == 1 ? "shift" : "mul") + " must have shape [" +
                               std::to_string(s.back()) + "] (the input's last axis), got " + shape_str(v));
    }
    ctx.outputs[0]->shape = s;
    ctx.outputs[0]->dtype = DType::kU8;
    return OkStatus();
  }
  Status run(const RunContext& ctx) const override {
    const float* x = ctx.in(0).as<float>();
    const float* shift = ctx.has_in(1) ? ctx.in(1).as<float>() : nullptr;
    const float* mul = ctx.has_in(2) ? ctx.in(2).as<float>() : nullptr;
    uint8_t* q = ctx.out(0).as<uint8_t>();
    const size_t C = static_cast<size_t>(ctx.in(0).shape.back());
    const size_t rows = C == 0 ? 0 : ctx.in(0).numel() / C;
    const auto& ek = kernels::select_eltwise_f32();
    const auto& qk = kernels::select_quantize_u8();
    const auto sub = ek.binary[static_cast<int>(kernels::EltOp::kSub)];
    const auto mulf = ek.binary[static_cast<int>(kernels::EltOp::kMul)];
    void (*act)(const float*, float*, size_t) =
        act_ == Act::kGelu ? kernels::vgelu_q : act_ == Act::kGeluTanh ? kernels::vgelu_tanh : nullptr;
    const size_t T = static_cast<size_t>(ctx.pool->threads());
    const size_t tasks = rows * C >= 65536 ? std::min(T, rows) : 1;
    ctx.pool->parallel_for(tasks, [&](size_t t) {
      size_t b, e;
      split_range(rows, tasks, 1, t, &b, &e);
      // Rows go through the buffer in column pieces, so any C works with a fixed stack buffer.
      alignas(64) float buf[kPiece];
      for (size_t r = b; r < e; ++r)
        for (size_t c0 = 0; c0 < C; c0 += kPiece) {
          const size_t n = std::min(kPiece, C - c0);
          const float* src = x + r * C + c0;
          if (act) act(src, buf, n), src = buf;
          if (qk.quantize_affine) {  // Sub, Mul and quantize in one pass, same bytes
            qk.quantize_affine(src, n, shift ? shift + c0 : nullptr, mul ? mul + c0 : nullptr,
                               scale_, zp_, q + r * C + c0);
            continue;
          }
          if (shift) sub(src, 1, shift + c0, 1, buf, n), src = buf;
          if (mul) mulf(src, 1, mul + c0, 1, buf, n), src = buf;
          qk.quantize(src, n, scale_, zp_, q + r * C + c0);
        }
    });
    return OkStatus();
  }
  std::string kernel_name() const override {
    std::string k = act_ == Act::kNone ? "" : std::string(kernels::select_vmath().name) + "+";
    return k + kernels::select_eltwise_f32().name + "+" + kernels::select_quantize_u8().name;
  }

 private:
  enum class Act { kNone, kGelu, kGeluTanh };
  static constexpr size_t kPiece = 1024;
  Act act_ = Act::kNone;
  float scale_ = 1.f;
  int32_t zp_ = 0;
};

class DequantizeOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c) {
    auto op = std::make_unique<DequantizeOp>();
    const format::TensorDef* x = c.input(0);
    if (!x || c.node.outputs.size() != 1) return InvalidArgument(c.where() + "expects one input and one output");
    if (x->dtype != DType::kU8 && x->dtype != DType::kS8 && x->dtype != DType::kS32)
      return Unsupported(c.where() + "input must be u8, s8 or s32");
    if (x->quant.empty()) return InvalidArgument(c.where() + "input '" + x->name + "' has no quantization parameters");
    op->dtype_ = x->dtype;
    op->axis_ = x->quant.axis;
    op->scales_ = x->quant.scales;
    op->zps_ = x->quant.zero_points;
    op->zps_.resize(op->scales_.size(), 0);
    return std::unique_ptr<Op>(std::move(op));
  }
  Status infer(InferContext& ctx) const override {
    const Shape& s = ctx.inputs[0]->shape;
    if (scales_.size() > 1) {
      int64_t ax = axis_ < 0 ? axis_ + static_cast<int64_t>(s.size()) : axis_;
      if (ax < 0 || ax >= static_cast<int64_t>(s.size()) || s[ax] != static_cast<int64_t>(scales_.size()))
        return InvalidArgument(ctx.where() + "per-axis parameters (" + std::to_string(scales_.size()) +
                               " along axis " + std::to_string(axis_) + ") do not fit shape " + shape_str(s));
    }
    ctx.outputs[0]->shape = s;
    ctx.outputs[0]->dtype = DType::kF32;
    return OkStatus();
  }
  Status run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    float* y = ctx.out(0).as<float>();
    size_t n = x.numel(), inner = 1, axis_len = 1;
    if (scales_.size() > 1) {
      size_t ax = static_cast<size_t>(axis_ < 0 ? axis_ + static_cast<int64_t>(x.shape.size()) : axis_);
      axis_len = static_cast<size_t>(x.shape[ax]);
      for (size_t d = ax + 1; d < x.shape.size(); ++d) inner *= static_cast<size_t>(x.shape[d]);
    }
    for (size_t i = 0; i < n; ++i) {
      size_t c = scales_.size() > 1 ? (i / inner) % axis_len : 0;
      int32_t q = dtype_ == DType::kU8 ? x.as<uint8_t>()[i]
                  : dtype_ == DType::kS8 ? x.as<int8_t>()[i] : x.as<int32_t>()[i];
      y[i] = scales_[c] * static_cast<float>(q - zps_[c]);
    }
    return OkStatus();
  }
  std::string kernel_name() const override { return "dequantize_ref"; }

 private:
  DType dtype_ = DType::kU8;
  int32_t axis_ = -1;
  std::vector<float> scales_;
  std::vector<int32_t> zps_;
};

class QBinaryOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c, bool mul) {
    auto op = std::make_unique<QBinaryOp>();
    op->mul_ = mul;
    if (c.node.inputs.size() != 2 || c.node.outputs.size() != 1)
      return InvalidArgument(c.where() + "expects two inputs and one output");
    const format::TensorDef* a = c.input(0);
    const format::TensorDef* b = c.input(1);
    const format::TensorDef* y = c.output(0);
    if (!a || !b || a->dtype != DType::kU8 || b->dtype != DType::kU8 || y->dtype != DType::kU8)
      return Unsupported(c.where() + "quantized form needs u8 inputs and output");
    QRT_RETURN_IF_ERROR(per_tensor_params(c, a, "input A", &op->sa_, &op->za_));
    QRT_RETURN_IF_ERROR(per_tensor_params(c, b, "input B", &op->sb_, &op->zb_));
    QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &op->so_, &op->zo_));
    QRT_ASSIGN_OR_RETURN(auto act, parse_activation(c));
    activation_u8_range(act, op->so_, op->zo_, &op->qmin_, &op->qmax_);
    if (mul) {
      QRT_RETURN_IF_ERROR(check_multiplier(c, static_cast<double>(op->sa_ * op->sb_ / op->so_), "product"));
    } else {
      QRT_RETURN_IF_ERROR(check_multiplier(c, static_cast<double>(op->sa_ / op->so_), "input A"));
      QRT_RETURN_IF_ERROR(check_multiplier(c, static_cast<double>(op->sb_ / op->so_), "input B"));
    }
    return std::unique_ptr<Op>(std::move(op));
  }
  Status infer(InferContext& ctx) const override {
    const Shape& a = ctx.inputs[0]->shape;
    const Shape& b = ctx.inputs[1]->shape;
    size_t r = std::max(a.size(), b.size());
    Shape y(r);
    for (size_t i = 0; i < r; ++i) {
      int64_t da = i + a.size() >= r ? a[i + a.size() - r] : 1;
      int64_t db = i + b.size() >= r ? b[i + b.size() - r] : 1;
      if (da != db && da != 1 && db != 1)
        return InvalidArgument(ctx.where() + "shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
      y[i] = da == 1 ? db : da;
    }
    ctx.outputs[0]->shape = y;
    ctx.outputs[0]->dtype = DType::kU8;
    return OkStatus();
  }
  Status run(const RunContext& ctx) const override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    Tensor& y = ctx.out(0);
    const size_t r = y.shape.size();
    // Strides of a and b in y's index space (0 along broadcast dimensions).
    std::vector<size_t> sa(r, 0), sb(r, 0), dims(r);
    size_t ta = 1, tb = 1;
    for (size_t i = r; i-- > 0;) {
      dims[i] = static_cast<size_t>(y.shape[i]);
      size_t ia = i + a.shape.size() - r, ib = i + b.shape.size() - r;
      if (i + a.shape.size() >= r) { if (a.shape[ia] != 1) sa[i] = ta; ta *= static_cast<size_t>(a.shape[ia]); }
      if (i + b.shape.size() >= r) { if (b.shape[ib] != 1) sb[i] = tb; tb *= static_cast<size_t>(b.shape[ib]); }
    }
    const uint8_t* pa = a.as<uint8_t>();
    const uint8_t* pb = b.as<uint8_t>();
    uint8_t* py = y.as<uint8_t>();
    const size_t n = y.numel();
    // Same shapes, or one side a single element: the SIMD kernel (same arithmetic as below).
    const size_t na = a.numel(), nb = b.numel();
    if ((na == n && (nb == n || nb == 1)) || (nb == n && na == 1)) {
      const kernels::QElementwiseU8Kernel& k = kernels::select_qelementwise_u8();
      const bool swap = na != n;  // the kernel broadcasts its second operand only
      kernels::QElementwiseU8Params p;
      p.a_zero_point = swap ? zb_ : za_;
      p.b_zero_point = swap ? za_ : zb_;
      p.out_zero_point = zo_;
      p.qmin = qmin_;
      p.qmax = qmax_;
      p.a_mult = (swap ? sb_ : sa_) / so_;
      p.b_mult = (swap ? sa_ : sb_) / so_;
      p.mult = sa_ * sb_ / so_;
      const uint8_t* x0 = swap ? pb : pa;
      const uint8_t* x1 = swap ? pa : pb;
      const bool scalar = (swap ? na : nb) == 1 && n != 1;
      const size_t tasks = n >= (1u << 16) ? static_cast<size_t>(ctx.pool->threads()) : 1;
      ctx.pool->parallel_for(tasks, [&](size_t t) {
        size_t b0, b1;
        split_range(n, tasks, 64, t, &b0, &b1);
        if (b0 >= b1) return;
        const uint8_t* s1 = scalar ? x1 : x1 + b0;
        if (mul_) k.mul(p, x0 + b0, s1, scalar, py + b0, b1 - b0);
        else k.add(p, x0 + b0, s1, scalar, py + b0, b1 - b0);
      });
      return OkStatus();
    }
    const float lo = static_cast<float>(qmin_ - zo_), hi = static_cast<float>(qmax_ - zo_);
    const float ma = sa_ / so_, mb = sb_ / so_, mm = sa_ * sb_ / so_;
    std::vector<size_t> idx(r, 0);
    size_t oa = 0, ob = 0;
    for (size_t i = 0; i < n; ++i) {
      float va = static_cast<float>(pa[oa] - za_), vb = static_cast<float>(pb[ob] - zb_);
      float v = mul_ ? va * vb * mm : va * ma + vb * mb;
      v = std::min(std::max(v, lo), hi);
      py[i] = static_cast<uint8_t>(zo_ + static_cast<int32_t>(std::nearbyint(v)));
      for (size_t d = r; d-- > 0;) {  // odometer over y's index
        oa += sa[d];
        ob += sb[d];
        if (++idx[d] < dims[d]) break;
        oa -= sa[d] * dims[d];
        ob -= sb[d] * dims[d];
        idx[d] = 0;
      }
    }
    return OkStatus();
  }
  bool foldable() const override { return false; }
  std::string kernel_name() const override { return kernels::select_qelementwise_u8().name; }

 private:
  bool mul_ = false;
  float sa_ = 1, sb_ = 1, so_ = 1;
  int32_t za_ = 0, zb_ = 0, zo_ = 0, qmin_ = 0, qmax_ = 255;
};

// u8 Relu: real max(x, 0). With equal input/output parameters (the converter's choice) it is
// q = max(q, zp); otherwise q_out = zo + nearbyint(clamp(max(q - zi, 0) * si/so, -zo, 255-zo)).
class QReluOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c) {
    auto op = std::make_unique<QReluOp>();
    if (c.node.inputs.size() != 1 || c.node.outputs.size() != 1)
      return InvalidArgument(c.where() + "expects one input and one output");
    const format::TensorDef* y = c.output(0);
    if (!y || y->dtype != DType::kU8) return Unsupported(c.where() + "quantized Relu needs a u8 output");
    QRT_RETURN_IF_ERROR(per_tensor_params(c, c.input(0), "input", &op->si_, &op->zi_));
    QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &op->so_, &op->zo_));
    if (op->zi_ < 0 || op->zi_ > 255 || op->zo_ < 0 || op->zo_ > 255)
      return InvalidArgument(c.where() + "u8 zero points must lie in [0, 255]");
    op->same_ = op->si_ == op->so_ && op->zi_ == op->zo_;
    QRT_RETURN_IF_ERROR(check_multiplier(c, static_cast<double>(op->si_ / op->so_), "Relu"));
    return std::unique_ptr<Op>(std::move(op));
  }
  Status infer(InferContext& ctx) const override {
    ctx.outputs[0]->shape = ctx.inputs[0]->shape;
    ctx.outputs[0]->dtype = DType::kU8;
    return OkStatus();
  }
  Status run(const RunContext& ctx) const override {
    const uint8_t* x = ctx.in(0).as<uint8_t>();
    uint8_t* y = ctx.out(0).as<uint8_t>();
    const size_t n = ctx.in(0).numel();
    if (same_) {
      const uint8_t z = static_cast<uint8_t>(zi_);
      for (size_t i = 0; i < n; ++i) y[i] = x[i] > z ? x[i] : z;
      return OkStatus();
    }
    const float m = si_ / so_, hi = static_cast<float>(255 - zo_);
    for (size_t i = 0; i < n; ++i) {
      float r = static_cast<float>(std::max(static_cast<int32_t>(x[i]) - zi_, 0)) * m;
      r = std::min(r, hi);
      y[i] = static_cast<uint8_t>(zo_ + static_cast<int32_t>(std::nearbyint(r)));
    }
    return OkStatus();
  }
  bool foldable() const override { return false; }
  std::string kernel_name() const override { return "relu_u8"; }

 private:
  float si_ = 1, so_ = 1;
  int32_t zi_ = 0, zo_ = 0;
  bool same_ = true;
};

}  // namespace

bool quantize_u8_params(const Op& op, float* scale, int32_t* zero_point) {
  const auto* q = dynamic_cast<const QuantizeOp*>(&op);
  return q && q->u8_params(scale, zero_point);
}

void register_quant_ops(OpRegistry& r) {
  r.add("QuantizeLinear", QuantizeOp::create);
  r.add("DequantizeLinear", DequantizeOp::create);
  r.add("AffineQuantize", AffineQuantizeOp::create);
}

void register_quant_overrides(OpRegistry& r) {
  {
    const OpFactory* prev = r.find("Relu", 1);
    OpFactory float_factory = prev ? *prev : OpFactory();
    r.add("Relu", [float_factory](const CreateContext& c) -> Result<std::unique_ptr<Op>> {
      const format::TensorDef* a = c.input(0);
      if (a && a->dtype == DType::kU8 && !a->quant.empty()) return QReluOp::create(c);
      if (float_factory) return float_factory(c);
      return Unsupported(c.where() + "Relu is only implemented for quantized u8 in this build");
    });
  }
  for (const char* name : {"Add", "Mul"}) {
    const bool mul = std::string(name) == "Mul";
    const OpFactory* prev = r.find(name, 1);
    OpFactory float_factory = prev ? *prev : OpFactory();
    r.add(name, [mul, float_factory, name](const CreateContext& c) -> Result<std::unique_ptr<Op>> {
      const format::TensorDef* a = c.input(0);
      // Quantized only when the u8 operand carries quantization parameters; a plain integer
      // Add/Mul (ONNX semantics on uint8) goes to the float group's op like every other dtype.
      if (a && a->dtype == DType::kU8 && !a->quant.empty()) return QBinaryOp::create(c, mul);
      if (float_factory) return float_factory(c);
      return Unsupported(c.where() + std::string(name) + " is only implemented for u8 in this build");
    });
  }
}

}  // namespace qrt::rt
