// Cast and Identity.
//   Cast(to): between f32 f16 bf16 s8 u8 s32 s64 bool. The target dtype is the output record's
//   dtype when it has one; otherwise `to` (an ONNX TensorProto code, or a qrt dtype name).
//   Float -> integer truncates toward zero and saturates to the target range (NaN -> 0), a
//   defined result where C++ and ONNX leave it undefined; f32 -> f16/bf16 rounds to nearest even;
//   anything -> bool is (x != 0). Raw values are converted: quantization records are not applied.
//   Identity: copies any dtype.
#include <cmath>
#include <limits>

#include "kernels/gemm_f32.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

// Every source is first widened to double (exact for all supported types except s64 beyond
// 2^53, which takes the integer path below).
double load(DType t, const void* p, size_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float*>(p)[i];
    case DType::kF16: return kernels::f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kBF16: return kernels::bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kS8: return static_cast<const int8_t*>(p)[i];
    case DType::kU8: case DType::kBool: return static_cast<const uint8_t*>(p)[i];
    case DType::kS32: return static_cast<const int32_t*>(p)[i];
    case DType::kS64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    default: return 0.0;
  }
}

template <typename T>
T sat(double v) {
  if (std::isnan(v)) return T(0);
  v = std::trunc(v);
  constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::min();
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

void store(DType t, void* p, size_t i, double v) {
  switch (t) {
    case DType::kF32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::kF16: static_cast<uint16_t*>(p)[i] = kernels::f32_to_f16(static_cast<float>(v)); break;
    case DType::kBF16: static_cast<uint16_t*>(p)[i] = kernels::f32_to_bf16(static_cast<float>(v)); break;
    case DType::kS8: static_cast<int8_t*>(p)[i] = sat<int8_t>(v); break;
    case DType::kU8: static_cast<uint8_t*>(p)[i] = sat<uint8_t>(v); break;
    case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0.0; break;
    case DType::kS32: static_cast<int32_t*>(p)[i] = sat<int32_t>(v); break;
    case DType::kS64: static_cast<int64_t*>(p)[i] = sat<int64_t>(v); break;
    default: break;
  }
}

bool castable(DType t) { return elem_size(t) != 0; }

class CastOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    const format::TensorDef* o = c.output(0);
    if (o && o->dtype != DType::kUndefined) to_ = o->dtype;
    const format::AttrDef* a = c.node.attr("to");
    if (a) {
      DType t = DType::kUndefined;
      if (a->type == format::AttrType::kInt) {
        t = onnx_dtype(a->i);
      } else if (a->type == format::AttrType::kString) {
        for (int k = 1; k < format::kNumDTypes; ++k)
          if (a->s == dt_name(static_cast<DType>(k))) t = static_cast<DType>(k);
      }
      if (t == DType::kUndefined)
        return Unsupported(c.where() + "attribute 'to' names a dtype qrt does not support");
      if (to_ != DType::kUndefined && to_ != t)
        return InvalidArgument(c.where() + "attribute 'to' (" + dt_name(t) +
                               ") disagrees with the output record's dtype " + dt_name(to_));
      to_ = t;
    }
    if (to_ == DType::kUndefined)
      return InvalidArgument(c.where() + "target dtype unknown: no 'to' attribute and no output dtype");
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    if (!castable(c.inputs[0]->dtype))
      return InvalidArgument(c.where() + "input has undefined dtype");
    c.outputs[0]->dtype = to_;
    c.outputs[0]->shape = c.inputs[0]->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override { return cast(c, to_); }

  // Casts input 0 into output 0 (which has dtype `to`).
  static Status cast(const RunContext& c, DType to) {
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    const size_t n = x.numel();
    if (x.dtype == to) {
      std::memcpy(y.data, x.data, n * elem_size(to));
      return OkStatus();
    }
    const DType from = x.dtype;
    const void* src = x.data;
    void* dst = y.data;
    if (from == DType::kS64 && (to == DType::kS32 || to == DType::kS64 || to == DType::kBool)) {
      const int64_t* s = static_cast<const int64_t*>(src);  // exact integer path
      for (size_t i = 0; i < n; ++i) {
        if (to == DType::kBool) {
          static_cast<uint8_t*>(dst)[i] = s[i] != 0;
        } else {
          int64_t v = std::min<int64_t>(std::max<int64_t>(s[i], INT32_MIN), INT32_MAX);
          static_cast<int32_t*>(dst)[i] = static_cast<int32_t>(v);
        }
      }
      return OkStatus();
    }
    parallel_range(c.pool, n, 1 << 15, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) store(to, dst, i, load(from, src, i));
    });
    return OkStatus();
  }

 private:
  DType to_ = DType::kUndefined;
};

// CastLike(input, target_type): Cast to target_type's dtype (only its dtype is read).
class CastLikeOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 2, 2, 1, 1); }
  Status infer(InferContext& c) const override {
    if (!castable(c.inputs[0]->dtype))
      return InvalidArgument(c.where() + "input has undefined dtype");
    if (!c.inputs[1] || !castable(c.inputs[1]->dtype))
      return InvalidArgument(c.where() + "target_type (input 1) has undefined dtype");
    c.outputs[0]->dtype = c.inputs[1]->dtype;
    c.outputs[0]->shape = c.inputs[0]->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override { return CastOp::cast(c, c.in(1).dtype); }
};

class IdentityOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 1, 1, 1, 1); }
  Status infer(InferContext& c) const override {
    if (!castable(c.inputs[0]->dtype))
      return InvalidArgument(c.where() + "input has undefined dtype");
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = c.inputs[0]->dtype;
    c.outputs[0]->shape = c.inputs[0]->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    if (c.out(0).data != c.in(0).data)
      std::memcpy(c.out(0).data, c.in(0).data, c.in(0).numel() * elem_size(c.in(0).dtype));
    return OkStatus();
  }
};

}  // namespace

void register_cast_ops(OpRegistry& r) {
  r.add("Cast", make_factory<CastOp>());
  r.add("CastLike", make_factory<CastLikeOp>());
  r.add("Identity", make_factory<IdentityOp>());
}

}  // namespace qrt::rt::ops
