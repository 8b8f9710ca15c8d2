// Unary elementwise ops with ONNX semantics, f32 (Neg and Abs also s64/s32; Not on bool):
//   Sqrt Neg Exp Log Abs Relu LeakyRelu(alpha) Clip(min/max inputs, or attributes of opset < 11)
//   Sigmoid Tanh Erf Gelu(approximate "none"|"tanh") Silu HardSigmoid(alpha, beta) HardSwish
//   Floor Ceil Round (halves to even) Reciprocal Not Elu(alpha) Selu(alpha, gamma) Celu(alpha)
//   Softplus Softsign Mish ThresholdedRelu(alpha) Swish(alpha) Sin Cos Sign
//   (scalar libm / float arithmetic; Softplus as log1p(exp(x)), and x above 20 as x itself)
// Large tensors are split over the thread pool in contiguous chunks; the transcendental ones run
// through the SIMD array functions of kernels/vmath.h.
#include <cmath>
#include <limits>

#include "kernels/vmath.h"
#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

enum class Un {
  kSqrt, kNeg, kExp, kLog, kAbs, kRelu, kLeakyRelu, kClip, kSigmoid, kTanh, kErf, kGelu,
  kGeluTanh, kSilu, kHardSigmoid, kHardSwish, kFloor, kCeil, kRound, kReciprocal, kNot, kElu,
  kSelu, kCelu, kSoftplus, kSoftsign, kMish, kThresholdedRelu, kSwish, kSin, kCos, kSign
};

inline float softplus(float v) { return v > 20.f ? v : std::log1p(std::exp(v)); }

// Array functions from kernels/vmath.h (SIMD exp/tanh/sigmoid/erf/GELU/SiLU, <= 4 ulp except
// the GELU forms; see that header) over contiguous chunks.
void vmap(ThreadPool* pool, const float* x, float* y, size_t n,
          void (*fn)(const float*, float*, size_t)) {
  parallel_range(pool, n, 1 << 14, [&](size_t b, size_t e) { fn(x + b, y + b, e - b); });
}

template <typename T, typename F>
void map(ThreadPool* pool, const T* x, T* y, size_t n, const F& f) {
  parallel_range(pool, n, 1 << 14, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

class UnaryOp : public Op {
 public:
  explicit UnaryOp(Un k) : k_(k) {}

  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, k_ == Un::kClip ? 3 : 1, 1, 1));
    if (k_ == Un::kLeakyRelu) {
      QRT_ASSIGN_OR_RETURN(alpha_, c.attr_float("alpha", 0.01f));
    } else if (k_ == Un::kHardSigmoid) {
      QRT_ASSIGN_OR_RETURN(alpha_, c.attr_float("alpha", 0.2f));
      QRT_ASSIGN_OR_RETURN(beta_, c.attr_float("beta", 0.5f));
    } else if (k_ == Un::kElu || k_ == Un::kCelu || k_ == Un::kThresholdedRelu || k_ == Un::kSwish) {
      QRT_ASSIGN_OR_RETURN(alpha_, c.attr_float("alpha", 1.0f));
      if (k_ == Un::kCelu && alpha_ == 0.f) return InvalidArgument(c.where() + "Celu needs a non-zero alpha");
    } else if (k_ == Un::kSelu) {
      QRT_ASSIGN_OR_RETURN(alpha_, c.attr_float("alpha", 1.67326319217681884765625f));
      QRT_ASSIGN_OR_RETURN(beta_, c.attr_float("gamma", 1.05070102214813232421875f));
    } else if (k_ == Un::kClip) {
      QRT_ASSIGN_OR_RETURN(alpha_, c.attr_float("min", -std::numeric_limits<float>::infinity()));
      QRT_ASSIGN_OR_RETURN(beta_, c.attr_float("max", std::numeric_limits<float>::infinity()));
    } else if (k_ == Un::kGelu) {
      QRT_ASSIGN_OR_RETURN(std::string ap, c.attr_string("approximate", "none"));
      if (ap == "tanh") {
        k_ = Un::kGeluTanh;
      } else if (ap != "none") {
        return InvalidArgument(c.where() + "attribute 'approximate' must be \"none\" or \"tanh\", got \"" +
                               ap + "\"");
      }
    }
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    if (k_ == Un::kNeg || k_ == Un::kAbs) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32}));
    } else if (k_ == Un::kNot) {
      QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kBool}, /*onnx_forbids=*/true));
    } else {
      QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    }
    for (size_t i = 1; i < c.inputs.size(); ++i) {  // Clip min / max
      if (!c.inputs[i]) continue;
      QRT_RETURN_IF_ERROR(expect_dtype(c, i, {DType::kF32}));
      if (c.inputs[i]->numel() != 1)
        return InvalidArgument(c.where() + (i == 1 ? "min" : "max") +
                               " must be a scalar, got shape " + shape_str(c.inputs[i]->shape));
    }
    c.outputs[0]->dtype = c.inputs[0]->dtype;
    c.outputs[0]->shape = c.inputs[0]->shape;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& xt = c.in(0);
    Tensor& yt = c.out(0);
    const size_t n = xt.numel();
    if (xt.dtype == DType::kS64) return run_int<int64_t>(c, n);
    if (xt.dtype == DType::kS32) return run_int<int32_t>(c, n);
    if (k_ == Un::kNot) {  // any byte other than 0 is true
      map(c.pool, xt.as<uint8_t>(), yt.as<uint8_t>(), n, [](uint8_t v) -> uint8_t { return v == 0; });
      return OkStatus();
    }
    const float* x = xt.as<float>();
    float* y = yt.as<float>();
    ThreadPool* p = c.pool;
    const float alpha = alpha_, beta = beta_;
    switch (k_) {
      case Un::kSqrt: map(p, x, y, n, [](float v) { return std::sqrt(v); }); break;
      case Un::kNeg: map(p, x, y, n, [](float v) { return -v; }); break;
      case Un::kExp: vmap(p, x, y, n, kernels::vexp); break;
      case Un::kLog: map(p, x, y, n, [](float v) { return std::log(v); }); break;
      case Un::kAbs: map(p, x, y, n, [](float v) { return std::fabs(v); }); break;
      case Un::kRelu: map(p, x, y, n, [](float v) { return v > 0.f ? v : (v == v ? 0.f : v); }); break;
      case Un::kLeakyRelu:
        map(p, x, y, n, [alpha](float v) { return v >= 0.f ? v : alpha * v; });
        break;
      case Un::kClip: {
        float lo = alpha, hi = beta;
        if (c.has_in(1)) lo = c.in(1).as<float>()[0];
        if (c.has_in(2)) hi = c.in(2).as<float>()[0];
        // ONNX: min > max gives max everywhere (clamp to min, then to max).
        map(p, x, y, n, [lo, hi](float v) {
          v = v < lo ? lo : v;
          return v > hi ? hi : v;
        });
        break;
      }
      case Un::kSigmoid: vmap(p, x, y, n, kernels::vsigmoid); break;
      case Un::kTanh: vmap(p, x, y, n, kernels::vtanh); break;
      case Un::kErf: vmap(p, x, y, n, kernels::verf); break;
      case Un::kGelu: vmap(p, x, y, n, kernels::vgelu); break;
      case Un::kGeluTanh: vmap(p, x, y, n, kernels::vgelu_tanh); break;
      case Un::kSilu: vmap(p, x, y, n, kernels::vsilu); break;
      case Un::kHardSigmoid:
        map(p, x, y, n, [alpha, beta](float v) {
          return std::max(0.f, std::min(1.f, alpha * v + beta));
        });
        break;
      case Un::kHardSwish:
        map(p, x, y, n, [](float v) {
          return v * std::max(0.f, std::min(1.f, v * (1.f / 6.f) + 0.5f));
        });
        break;
      case Un::kFloor: map(p, x, y, n, [](float v) { return std::floor(v); }); break;
      case Un::kCeil: map(p, x, y, n, [](float v) { return std::ceil(v); }); break;
      // The default floating-point environment rounds to nearest, ties to even (ONNX Round).
      case Un::kRound: map(p, x, y, n, [](float v) { return std::nearbyint(v); }); break;
      case Un::kReciprocal: map(p, x, y, n, [](float v) { return 1.f / v; }); break;
      case Un::kNot: break;  // handled above
      case Un::kElu: map(p, x, y, n, [alpha](float v) { return v >= 0.f ? v : alpha * std::expm1(v); }); break;
      case Un::kSelu:
        map(p, x, y, n, [alpha, beta](float v) { return beta * (v > 0.f ? v : alpha * std::expm1(v)); });
        break;
      case Un::kCelu:
        map(p, x, y, n, [alpha](float v) { return std::max(0.f, v) + std::min(0.f, alpha * std::expm1(v / alpha)); });
        break;
      case Un::kSoftplus: map(p, x, y, n, [](float v) { return softplus(v); }); break;
      case Un::kSoftsign: map(p, x, y, n, [](float v) { return v / (1.f + std::fabs(v)); }); break;
      case Un::kMish: map(p, x, y, n, [](float v) { return v * std::tanh(softplus(v)); }); break;
      case Un::kThresholdedRelu: map(p, x, y, n, [alpha](float v) { return v > alpha ? v : 0.f; }); break;
      case Un::kSwish: map(p, x, y, n, [alpha](float v) { return v / (1.f + std::exp(-alpha * v)); }); break;
      case Un::kSin: map(p, x, y, n, [](float v) { return std::sin(v); }); break;
      case Un::kCos: map(p, x, y, n, [](float v) { return std::cos(v); }); break;
      case Un::kSign: map(p, x, y, n, [](float v) { return v > 0.f ? 1.f : v < 0.f ? -1.f : v == v ? 0.f : v; }); break;
    }
    return OkStatus();
  }

 private:
  template <typename T>
  Status run_int(const RunContext& c, size_t n) const {
    const T* x = c.in(0).as<T>();
    T* y = c.out(0).as<T>();
    // Wrap-around negation of the minimum value, as two's complement hardware does.
    auto neg = [](T v) { return static_cast<T>(T(0) - static_cast<std::make_unsigned_t<T>>(v)); };
    if (k_ == Un::kNeg) {
      map(c.pool, x, y, n, neg);
    } else {
      map(c.pool, x, y, n, [neg](T v) { return v < 0 ? neg(v) : v; });
    }
    return OkStatus();
  }

  Un k_;
  float alpha_ = 0.f, beta_ = 0.f;
};

}  // namespace

void register_activation_ops(OpRegistry& r) {
  const std::pair<const char*, Un> ops[] = {
      {"Sqrt", Un::kSqrt},       {"Neg", Un::kNeg},
      {"Exp", Un::kExp},         {"Log", Un::kLog},
      {"Abs", Un::kAbs},         {"Relu", Un::kRelu},
      {"LeakyRelu", Un::kLeakyRelu}, {"Clip", Un::kClip},
      {"Sigmoid", Un::kSigmoid}, {"Tanh", Un::kTanh},
      {"Erf", Un::kErf},         {"Gelu", Un::kGelu},
      {"Silu", Un::kSilu},       {"HardSigmoid", Un::kHardSigmoid},
      {"HardSwish", Un::kHardSwish}, {"Floor", Un::kFloor},
      {"Ceil", Un::kCeil},       {"Round", Un::kRound},
      {"Reciprocal", Un::kReciprocal}, {"Not", Un::kNot},
      {"Elu", Un::kElu},         {"Selu", Un::kSelu},
      {"Celu", Un::kCelu},       {"Softplus", Un::kSoftplus},
      {"Softsign", Un::kSoftsign}, {"Mish", Un::kMish},
      {"ThresholdedRelu", Un::kThresholdedRelu}, {"Swish", Un::kSwish},
      {"Sin", Un::kSin},         {"Cos", Un::kCos},
      {"Sign", Un::kSign},
  };
  for (const auto& [name, k] : ops) r.add(name, make_factory<UnaryOp>(k));
}

}  // namespace qrt::rt::ops
