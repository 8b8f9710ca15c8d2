// Broadcasting elementwise ops with ONNX semantics: Add Sub Mul Div Pow Mod Min Max Sum PRelu, the
// comparisons Equal Less Greater LessOrEqual GreaterOrEqual (-> bool), the logical And Or Xor
// (bool), Where.
//   f32 for the arithmetic and comparisons; s64/s32 for Add Sub Mul Div Min Max and the
//   comparisons (shape arithmetic, folded at plan time); u8/s8 Add and Mul with per-tensor
//   quantization, requantized to the output record's parameters (static int8 mode); Equal also
//   on bool/u8/s8 (raw values); And/Or/Xor on bool only; Where on any dtype. Sum (variadic, f32)
//   folds left to right like Min/Max. Mod: s64/s32 with fmod = 0 (the result takes the
//   divisor's sign, as Python's %) or 1 (the dividend's, as C's %); f32 the same (fmod = 1: C's
//   fmod; 0: numpy's remainder, which ONNX's reference uses); an integer divisor of 0 is an
//   error, as in Div. A comparison with a NaN operand is false (Equal included), as in IEEE
//   arithmetic and ONNX's reference. PRelu (f32): the slope broadcasts to X, not X to it.
#include <cmath>
#include <limits>

#include "kernels/eltwise_f32.h"
#include "ops/broadcast.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

enum class Bin {
  kAdd, kSub, kMul, kDiv, kPow, kMin, kMax, kEqual, kLess, kGreater, kLessEq, kGreaterEq, kAnd, kOr,
  kXor, kSum, kMod, kPRelu
};

inline bool is_compare(Bin k) {
  return k == Bin::kEqual || k == Bin::kLess || k == Bin::kGreater || k == Bin::kLessEq ||
         k == Bin::kGreaterEq;
}
inline bool is_logical(Bin k) { return k == Bin::kAnd || k == Bin::kOr || k == Bin::kXor; }

template <typename T>
inline T fmin_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}
template <typename T>
inline T fmax_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a < b ? b : a;
}

class BinaryOp : public Op {
 public:
  explicit BinaryOp(Bin k) : k_(k) {}
  Status init(const CreateContext& c) {
    bool variadic = k_ == Bin::kMin || k_ == Bin::kMax || k_ == Bin::kSum;
    if (k_ == Bin::kMod) {
      QRT_ASSIGN_OR_RETURN(fmod_, c.attr_int("fmod", 0));
      if (fmod_ != 0 && fmod_ != 1)
        return InvalidArgument(c.where() + "attribute 'fmod' must be 0 or 1, got " + std::to_string(fmod_));
    }
    return check_arity(c, variadic ? 1 : 2, variadic ? 64 : 2, 1, 1);
  }

  Status infer(InferContext& c) const override {
    const DType t = c.inputs[0]->dtype;
    std::vector<const Shape*> shapes;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      if (!c.inputs[i]) return InvalidArgument(c.where() + "input " + std::to_string(i) + " is absent");
      if (k_ == Bin::kPow && i == 1) {
        QRT_RETURN_IF_ERROR(expect_dtype(c, 1, {DType::kF32, DType::kS64, DType::kS32}));
      } else if (c.inputs[i]->dtype != t) {
        return InvalidArgument(c.where() + "input " + std::to_string(i) + " dtype " +
                               dt_name(c.inputs[i]->dtype) + " differs from input 0's " +
                               dt_name(t));
      }
      shapes.push_back(&c.inputs[i]->shape);
    }
    QRT_RETURN_IF_ERROR(check_dtype(c, t));
    Shape out;
    if (!broadcast_shape(shapes, &out)) {
      std::string s;
      for (const Shape* sh : shapes) s += (s.empty() ? "" : " and ") + shape_str(*sh);
      return InvalidArgument(c.where() + "shapes " + s + " are not broadcast-compatible");
    }
    // PRelu's slope broadcasts to X one way (ONNX: unidirectional): the output is X's shape.
    if (k_ == Bin::kPRelu && out != c.inputs[0]->shape)
      return InvalidArgument(c.where() + "slope of shape " + shape_str(c.inputs[1]->shape) +
                             " does not broadcast to X's shape " + shape_str(c.inputs[0]->shape));
    c.outputs[0]->dtype = is_compare(k_) || is_logical(k_) ? DType::kBool : t;
    c.outputs[0]->shape = out;
    if (k_ == Bin::kPow && c.inputs[1]->dtype != DType::kF32)
      c.scratch_bytes = c.inputs[1]->numel() * sizeof(float);
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& a = c.in(0);
    Tensor& o = c.out(0);
    if (o.numel() == 0) return OkStatus();
    if (c.num_inputs == 1) {  // Min/Max of one input
      std::memcpy(o.data, a.data, a.numel() * elem_size(a.dtype));
      return OkStatus();
    }
    if (is_quant(a.dtype) && (k_ == Bin::kAdd || k_ == Bin::kMul)) return run_quant(c);
    switch (a.dtype) {
      case DType::kF32: return run_typed<float>(c);
      case DType::kS64: return run_typed<int64_t>(c);
      case DType::kS32: return run_typed<int32_t>(c);
      case DType::kBool: case DType::kU8: case DType::kS8: return run_typed<uint8_t>(c);
      default: return Internal("unreachable dtype");
    }
  }

 private:
  Status check_dtype(const InferContext& c, DType t) const {
    switch (k_) {
      case Bin::kAdd: case Bin::kMul:
        if (is_quant(t)) return check_quant(c);
        return expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32});
      case Bin::kSub: case Bin::kDiv: case Bin::kMin: case Bin::kMax:
        return expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32});
      case Bin::kPow: case Bin::kSum: case Bin::kPRelu: return expect_dtype(c, 0, {DType::kF32});
      case Bin::kMod:
        return expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32});
      case Bin::kEqual:
        if (t == DType::kU8 || t == DType::kS8) return OkStatus();  // raw values compared
        return expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32, DType::kBool});
      case Bin::kLess: case Bin::kGreater: case Bin::kLessEq: case Bin::kGreaterEq:
        return expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32});
      case Bin::kAnd: case Bin::kOr: case Bin::kXor:
        return expect_dtype(c, 0, {DType::kBool}, /*onnx_forbids=*/true);
    }
    return OkStatus();
  }

  Status check_quant(const InferContext& c) const {
    const format::QuantParams* qs[3] = {c.inputs[0]->quant, c.inputs[1]->quant,
                                        c.outputs[0]->quant};
    bool none = true;
    for (const format::QuantParams* q : qs) none = none && (!q || q->empty());
    if (none)  // u8/s8 are quantized activations in qrt; raw integer arithmetic is not a path
      return Unsupported(c.where() + dt_name(c.inputs[0]->dtype) +
                         " inputs without quantization parameters (raw integer arithmetic) are "
                         "not implemented");
    const char* names[3] = {"input 0", "input 1", "output"};
    for (int i = 0; i < 3; ++i) {
      if (!qs[i] || qs[i]->scales.size() != 1 || qs[i]->zero_points.size() != 1 ||
          !(qs[i]->scales[0] > 0.f) || !std::isfinite(qs[i]->scales[0]))
        return InvalidArgument(c.where() + names[i] + " of a quantized " +
                               (k_ == Bin::kAdd ? "Add" : "Mul") +
                               " needs per-tensor quantization parameters with a positive scale");
    }
    return OkStatus();
  }

  template <typename T>
  Status run_typed(const RunContext& c) const {
    Tensor& o = c.out(0);
    if (is_compare(k_) || is_logical(k_)) {
      const T* a = c.in(0).as<T>();
      const T* b = c.in(1).as<T>();
      const Shape &sa = c.in(0).shape, &sb = c.in(1).shape;
      uint8_t* y = o.as<uint8_t>();
      auto cmp = [&](auto f) { broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, f); };
      switch (k_) {
        case Bin::kEqual: cmp([](T x, T z) -> uint8_t { return x == z; }); break;
        case Bin::kLess: cmp([](T x, T z) -> uint8_t { return x < z; }); break;
        case Bin::kGreater: cmp([](T x, T z) -> uint8_t { return x > z; }); break;
        case Bin::kLessEq: cmp([](T x, T z) -> uint8_t { return x <= z; }); break;
        case Bin::kGreaterEq: cmp([](T x, T z) -> uint8_t { return x >= z; }); break;
        // A bool byte other than 0 is true (the format does not restrict the stored bytes).
        case Bin::kAnd: cmp([](T x, T z) -> uint8_t { return (x != 0) & (z != 0); }); break;
        case Bin::kOr: cmp([](T x, T z) -> uint8_t { return (x != 0) | (z != 0); }); break;
        case Bin::kXor: cmp([](T x, T z) -> uint8_t { return (x != 0) ^ (z != 0); }); break;
        default: break;
      }
      return OkStatus();
    }
    if constexpr (std::is_same_v<T, uint8_t>) {
      return Internal("unreachable");
    } else {
      if (k_ == Bin::kMin || k_ == Bin::kMax || k_ == Bin::kSum) {
        // Fold the inputs left to right into the output (which has the final shape).
        const Bin k = k_;
        auto f = [k](T x, T y) {
          return k == Bin::kSum ? T(x + y) : k == Bin::kMin ? fmin_nan(x, y) : fmax_nan(x, y);
        };
        broadcast_binary(c.pool, c.in(0).as<T>(), c.in(0).shape, c.in(1).as<T>(), c.in(1).shape,
                         o.as<T>(), o.shape, f);
        for (size_t i = 2; i < c.num_inputs; ++i)
          broadcast_binary(c.pool, o.as<T>(), o.shape, c.in(i).as<T>(), c.in(i).shape, o.as<T>(),
                           o.shape, f);
        return OkStatus();
      }
      const T* a = c.in(0).as<T>();
      const T* b = c.in(1).as<T>();
      const Shape &sa = c.in(0).shape, &sb = c.in(1).shape;
      T* y = o.as<T>();
      if constexpr (std::is_same_v<T, float>) {
        if (k_ == Bin::kAdd || k_ == Bin::kSub || k_ == Bin::kMul || k_ == Bin::kDiv) {
          run_simd(c, a, sa, b, sb, y, o.shape);
          return OkStatus();
        }
      }
      switch (k_) {
        case Bin::kAdd: broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return x + z; }); break;
        case Bin::kSub: broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return x - z; }); break;
        case Bin::kMul: broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return x * z; }); break;
        case Bin::kDiv: {
          if constexpr (std::is_integral_v<T>) {
            size_t nb = c.in(1).numel();
            for (size_t i = 0; i < nb; ++i)
              if (b[i] == 0)
                return InvalidArgument("integer division by zero");
            // INT_MIN / -1 overflows; it wraps to INT_MIN as two's complement would.
            broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) {
              return z == -1 ? static_cast<T>(T(0) - static_cast<std::make_unsigned_t<T>>(x)) : T(x / z);
            });
          } else {
            broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return x / z; });
          }
          break;
        }
        case Bin::kMod: {
          if constexpr (std::is_integral_v<T>) {
            size_t nb = c.in(1).numel();
            for (size_t i = 0; i < nb; ++i)
              if (b[i] == 0) return InvalidArgument("integer Mod by zero");
            // x % -1 is 0; computing it would trap for the minimum value.
            if (fmod_) {
              broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return z == -1 ? T(0) : T(x % z); });
            } else {
              broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) {
                T r = z == -1 ? T(0) : T(x % z);
                return (r != 0 && ((r < 0) != (z < 0))) ? T(r + z) : r;
              });
            }
          } else if (fmod_) {
            broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return std::fmod(x, z); });
          } else {  // numpy's float remainder (ONNX's reference): the divisor's sign, zero included
            broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) {
              T r = std::fmod(x, z);
              if (z == 0) return r;
              if (r != 0) return (r < 0) != (z < 0) ? T(r + z) : r;
              return std::copysign(T(0), z);
            });
          }
          break;
        }
        case Bin::kPRelu:
          // x < 0 ? slope * x : x; a NaN x stays NaN (the comparison is false).
          broadcast_binary(c.pool, a, sa, b, sb, y, o.shape, [](T x, T z) { return x < T(0) ? T(z * x) : x; });
          break;
        case Bin::kPow: {
          if constexpr (std::is_same_v<T, float>) {
            const Tensor& e = c.in(1);
            const float* ev = e.as<float>();
            if (e.dtype != DType::kF32) {
              float* tmp = static_cast<float*>(c.scratch);
              std::vector<int64_t> iv = tensor_ints(e);
              for (size_t i = 0; i < iv.size(); ++i) tmp[i] = static_cast<float>(iv[i]);
              ev = tmp;
            }
            broadcast_binary(c.pool, a, sa, ev, e.shape, y, o.shape,
                             [](float x, float z) { return std::pow(x, z); });
          }
          break;
        }
        default: break;
      }
      return OkStatus();
    }
  }

  // f32 Add/Sub/Mul/Div: the collapsed broadcast plan's rows through the SIMD row kernels
  // (innermost strides are 0 or 1: same-shape, trailing-broadcast and scalar cases), rows in
  // parallel chunks.
  void run_simd(const RunContext& c, const float* a, const Shape& sa, const float* b,
                const Shape& sb, float* y, const Shape& so) const {
    const int op = k_ == Bin::kAdd ? 0 : k_ == Bin::kSub ? 1 : k_ == Bin::kMul ? 2 : 3;
    const kernels::BinaryF32Fn fn = kernels::select_eltwise_f32().binary[op];
    BroadcastPlan p = make_broadcast_plan({&sa, &sb}, so);
    const size_t ia = static_cast<size_t>(p.strides[0].back());
    const size_t ib = static_cast<size_t>(p.strides[1].back());
    const size_t n = static_cast<size_t>(p.inner());
    if (p.dims.size() == 1) {  // one row: split it
      parallel_range(c.pool, n, 1 << 15, [&](size_t s, size_t e) {
        fn(a + s * ia, ia, b + s * ib, ib, y + s, e - s);
      });
      return;
    }
    for_each_row(c.pool, p, [&](const BroadcastCursor& cur, int64_t oo) {
      fn(a + cur.offset(0), ia, b + cur.offset(1), ib, y + oo, n);
    });
  }

  // Quantized Add/Mul: dequantize through 256-entry tables, compute in f32, requantize (round
  // half to even) to the output record's parameters and saturate.
  Status run_quant(const RunContext& c) const {
    const Tensor &a = c.in(0), &b = c.in(1);
    Tensor& o = c.out(0);
    const bool is_u8 = a.dtype == DType::kU8;
    float ta[256], tb[256];
    auto table = [is_u8](const format::QuantParams* q, float* t) {
      for (int v = 0; v < 256; ++v) {
        int raw = is_u8 ? v : static_cast<int>(static_cast<int8_t>(v));
        t[v] = q->scales[0] * static_cast<float>(raw - q->zero_points[0]);
      }
    };
    table(a.quant, ta);
    table(b.quant, tb);
    const float inv = 1.f / o.quant->scales[0];
    const float zp = static_cast<float>(o.quant->zero_points[0]);
    const float lo = is_u8 ? 0.f : -128.f, hi = is_u8 ? 255.f : 127.f;
    const bool add = k_ == Bin::kAdd;
    auto f = [&](uint8_t x, uint8_t y) -> uint8_t {
      float r = add ? ta[x] + tb[y] : ta[x] * tb[y];
      float q = std::nearbyint(r * inv) + zp;
      q = q < lo ? lo : (q > hi ? hi : q);
      return is_u8 ? static_cast<uint8_t>(q) : static_cast<uint8_t>(static_cast<int8_t>(q));
    };
    broadcast_binary(c.pool, a.as<uint8_t>(), a.shape, b.as<uint8_t>(), b.shape, o.as<uint8_t>(),
                     o.shape, f);
    return OkStatus();
  }

  Bin k_;
  int64_t fmod_ = 0;
};

// Where(condition: bool, X, Y): any dtype for X/Y, three-way broadcasting.
class WhereOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 3, 3, 1, 1); }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kBool}, /*onnx_forbids=*/true));
    if (c.inputs[1]->dtype != c.inputs[2]->dtype)
      return InvalidArgument(c.where() + "X dtype " + dt_name(c.inputs[1]->dtype) +
                             " differs from Y dtype " + dt_name(c.inputs[2]->dtype));
    if (elem_size(c.inputs[1]->dtype) == 0)
      return InvalidArgument(c.where() + "X has undefined dtype");
    Shape out;
    if (!broadcast_shape({&c.inputs[0]->shape, &c.inputs[1]->shape, &c.inputs[2]->shape}, &out))
      return InvalidArgument(c.where() + "shapes " + shape_str(c.inputs[0]->shape) + ", " +
                             shape_str(c.inputs[1]->shape) + " and " +
                             shape_str(c.inputs[2]->shape) + " are not broadcast-compatible");
    c.outputs[0]->dtype = c.inputs[1]->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    switch (elem_size(c.in(1).dtype)) {
      case 1: return run_typed<uint8_t>(c);
      case 2: return run_typed<uint16_t>(c);
      case 4: return run_typed<uint32_t>(c);
      default: return run_typed<uint64_t>(c);
    }
  }

 private:
  template <typename T>
  Status run_typed(const RunContext& c) const {
    Tensor& o = c.out(0);
    BroadcastPlan p = make_broadcast_plan({&c.in(0).shape, &c.in(1).shape, &c.in(2).shape}, o.shape);
    const uint8_t* cond = c.in(0).as<uint8_t>();
    const T* x = c.in(1).as<T>();
    const T* y = c.in(2).as<T>();
    T* out = o.as<T>();
    const int64_t s0 = p.strides[0].back(), s1 = p.strides[1].back(), s2 = p.strides[2].back();
    const int64_t n = p.inner();
    for_each_row(c.pool, p, [&](const BroadcastCursor& cur, int64_t oo) {
      const uint8_t* cp = cond + cur.offset(0);
      const T* xp = x + cur.offset(1);
      const T* yp = y + cur.offset(2);
      for (int64_t i = 0; i < n; ++i) out[oo + i] = cp[i * s0] ? xp[i * s1] : yp[i * s2];
    });
    return OkStatus();
  }
};

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  r.add("Add", make_factory<BinaryOp>(Bin::kAdd));
  r.add("Sub", make_factory<BinaryOp>(Bin::kSub));
  r.add("Mul", make_factory<BinaryOp>(Bin::kMul));
  r.add("Div", make_factory<BinaryOp>(Bin::kDiv));
  r.add("Pow", make_factory<BinaryOp>(Bin::kPow));
  r.add("Min", make_factory<BinaryOp>(Bin::kMin));
  r.add("Max", make_factory<BinaryOp>(Bin::kMax));
  r.add("Sum", make_factory<BinaryOp>(Bin::kSum));
  r.add("Mod", make_factory<BinaryOp>(Bin::kMod));
  r.add("PRelu", make_factory<BinaryOp>(Bin::kPRelu));
  r.add("Equal", make_factory<BinaryOp>(Bin::kEqual));
  r.add("Less", make_factory<BinaryOp>(Bin::kLess));
  r.add("Greater", make_factory<BinaryOp>(Bin::kGreater));
  r.add("LessOrEqual", make_factory<BinaryOp>(Bin::kLessEq));
  r.add("GreaterOrEqual", make_factory<BinaryOp>(Bin::kGreaterEq));
  r.add("And", make_factory<BinaryOp>(Bin::kAnd));
  r.add("Or", make_factory<BinaryOp>(Bin::kOr));
  r.add("Xor", make_factory<BinaryOp>(Bin::kXor));
  r.add("Where", make_factory<WhereOp>());
}

}  // namespace qrt::rt::ops
