// Reductions with ONNX semantics, f32: ReduceMean ReduceSum ReduceL2 ReduceMax ReduceMin ReduceProd
// ReduceL1 ReduceSumSquare ReduceLogSum ReduceLogSumExp; and ArgMax / ArgMin (one axis, s64
// indices; keepdims, select_last_index; a NaN counts as the extreme, as numpy's argmax).
//   axes: attribute (older opsets) or input 1 (ReduceSum opset 13, the others opset 18), which
//   must be known at plan time; keepdims (default 1); noop_with_empty_axes (default 0: empty
//   axes reduce everything; 1: identity).
// Sums accumulate in f64. Max / Min propagate NaN; over an empty set (a reduced dimension of
// size 0) they give -inf / +inf, as ONNX's reference (numpy with that initial value). The input
// is collapsed into runs of kept / reduced dimensions so both
// "reduce the innermost run" (contiguous sums) and "keep the innermost run" (vector
// accumulators) read memory in order.
#include <cmath>

#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

enum class Red { kMean, kSum, kL2, kMax, kMin, kProd, kL1, kSumSquare, kLogSum, kLogSumExp };

// Calls f(step) with the accumulation step (acc, v) -> acc of reduction k, one lambda type per
// kind, so that each loop f runs is compiled for its step (no per-element switch). Max / Min
// take a NaN and then keep it.
template <class F>
void with_step(Red k, F&& f) {
  switch (k) {
    case Red::kL2: case Red::kSumSquare:
      f([](double a, float v) { return a + static_cast<double>(v) * v; });
      break;
    case Red::kProd: f([](double a, float v) { return a * v; }); break;
    case Red::kL1: f([](double a, float v) { return a + std::fabs(static_cast<double>(v)); }); break;
    case Red::kLogSumExp: f([](double a, float v) { return a + std::exp(static_cast<double>(v)); }); break;
    case Red::kMax: f([](double a, float v) { return (v > a || v != v) ? static_cast<double>(v) : a; }); break;
    case Red::kMin: f([](double a, float v) { return (v < a || v != v) ? static_cast<double>(v) : a; }); break;
    default: f([](double a, float v) { return a + v; }); break;  // Mean, Sum, LogSum
  }
}

struct ReducePlan {
  Shape out;
  std::vector<bool> reduced;  // per input dim
  bool noop = false;
};

class ReduceOp : public Op {
 public:
  explicit ReduceOp(Red k) : k_(k) {}
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 2, 1, 1));
    QRT_ASSIGN_OR_RETURN(keepdims_, c.attr_int("keepdims", 1));
    QRT_ASSIGN_OR_RETURN(noop_empty_, c.attr_int("noop_with_empty_axes", 0));
    has_attr_axes_ = c.node.attr("axes") != nullptr;
    QRT_ASSIGN_OR_RETURN(attr_axes_, c.attr_ints("axes", {}));
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32}));
    ReducePlan p;
    QRT_RETURN_IF_ERROR(plan(c, &p));
    c.outputs[0]->dtype = DType::kF32;
    c.outputs[0]->shape = p.out;
    auto st = std::make_shared<ReducePlan>(std::move(p));
    c.state = st;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const ReducePlan& p = *static_cast<const ReducePlan*>(c.state);
    const Tensor& xt = c.in(0);
    float* y = c.out(0).as<float>();
    const float* x = xt.as<float>();
    if (p.noop) {
      std::memcpy(y, x, xt.numel() * sizeof(float));
      return OkStatus();
    }
    if (c.out(0).numel() == 0) return OkStatus();
    // Collapse: drop size-1 dims, merge neighbours of the same kind.
    const Shape& s = xt.shape;
    std::vector<int64_t> st = strides_of(s);
    std::vector<int64_t> dims, strides;
    std::vector<bool> red;
    size_t count = 1;
    for (size_t i = 0; i < s.size(); ++i) {
      if (p.reduced[i]) count *= static_cast<size_t>(s[i]);
      if (s[i] == 1) continue;
      if (!dims.empty() && red.back() == p.reduced[i]) {
        dims.back() *= s[i];
        strides.back() = st[i];
      } else {
        dims.push_back(s[i]);
        strides.push_back(st[i]);
        red.push_back(p.reduced[i]);
      }
    }
    std::vector<int64_t> kd, ks, rd, rs;  // kept / reduced dims and strides
    for (size_t i = 0; i < dims.size(); ++i) {
      (red[i] ? rd : kd).push_back(dims[i]);
      (red[i] ? rs : ks).push_back(strides[i]);
    }
    const bool inner_reduced = !red.empty() && red.back();
    auto offset = [](size_t idx, const std::vector<int64_t>& d, const std::vector<int64_t>& s2,
                     size_t skip_last) {
      int64_t off = 0;
      for (size_t i = d.size() - skip_last; i-- > 0;) {
        off += static_cast<int64_t>(idx % static_cast<size_t>(d[i])) * s2[i];
        idx /= static_cast<size_t>(d[i]);
      }
      return off;
    };
    const Red k = k_;
    const double init = k == Red::kMax ? -INFINITY : k == Red::kMin ? INFINITY : k == Red::kProd ? 1.0 : 0.0;
    auto finish = [k, count](double acc) {
      if (k == Red::kMean) return static_cast<float>(acc / static_cast<double>(count));
      if (k == Red::kL2) return static_cast<float>(std::sqrt(acc));
      if (k == Red::kLogSum || k == Red::kLogSumExp) return static_cast<float>(std::log(acc));
      return static_cast<float>(acc);
    };
    // acc (op)= q[0 .. n) for the sums, elementwise for the vector form (acc[i] (op)= q[i]).
    auto add_run = [k](double acc, const float* q, size_t n) {
      with_step(k, [&](auto step) {
        for (size_t i = 0; i < n; ++i) acc = step(acc, q[i]);
      });
      return acc;
    };
    auto add_vec = [k](double* acc, const float* q, size_t n) {
      with_step(k, [&](auto step) {
        for (size_t i = 0; i < n; ++i) acc[i] = step(acc[i], q[i]);
      });
    };
    const size_t nout = c.out(0).numel();
    if (inner_reduced || kd.empty()) {
      const size_t inner = inner_reduced ? static_cast<size_t>(rd.back()) : 1;
      const size_t skip = inner_reduced ? 1 : 0;
      size_t outer_red = 1;
      for (size_t i = 0; i + skip < rd.size(); ++i) outer_red *= static_cast<size_t>(rd[i]);
      parallel_range(c.pool, nout, std::max<size_t>(1, 8192 / std::max<size_t>(count, 1)),
                     [&](size_t b, size_t e) {
        for (size_t o = b; o < e; ++o) {
          const float* base = x + offset(o, kd, ks, 0);
          double acc = init;
          for (size_t r = 0; r < outer_red; ++r) acc = add_run(acc, base + offset(r, rd, rs, skip), inner);
          y[o] = finish(acc);
        }
      });
      return OkStatus();
    }
    // Innermost run kept (stride 1): accumulate a vector of `inner` outputs at a time.
    const size_t inner = static_cast<size_t>(kd.back());
    const size_t outer = nout / inner;
    size_t nred = 1;
    for (int64_t d : rd) nred *= static_cast<size_t>(d);
    parallel_range(c.pool, outer, 1, [&](size_t b, size_t e) {
      std::vector<double> acc(inner);
      for (size_t o = b; o < e; ++o) {
        const float* base = x + offset(o, kd, ks, 1);
        std::fill(acc.begin(), acc.end(), init);
        for (size_t r = 0; r < nred; ++r) add_vec(acc.data(), base + offset(r, rd, rs, 0), inner);
        for (size_t i = 0; i < inner; ++i) y[o * inner + i] = finish(acc[i]);
      }
    });
    return OkStatus();
  }

 private:
  Status plan(const InferContext& c, ReducePlan* p) const {
    const Shape& s = c.inputs[0]->shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    std::vector<int64_t> axes = attr_axes_;
    bool given = has_attr_axes_;
    if (c.inputs.size() > 1 && c.inputs[1]) {
      if (has_attr_axes_)
        return InvalidArgument(c.where() + "axes given both as attribute and as input");
      QRT_RETURN_IF_ERROR(read_ints(c.where(), "axes (input 1)", c.inputs[1], &axes));
      given = true;
    }
    (void)given;
    p->reduced.assign(s.size(), false);
    if (axes.empty()) {
      if (noop_empty_) {
        p->noop = true;
        p->out = s;
        return OkStatus();
      }
      p->reduced.assign(s.size(), true);
    }
    for (int64_t a : axes) {
      int64_t n;
      QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", a, rank, &n));
      if (p->reduced[n])
        return InvalidArgument(c.where() + "axis " + std::to_string(a) + " appears twice");
      p->reduced[n] = true;
    }
    for (size_t i = 0; i < s.size(); ++i) {
      if (!p->reduced[i]) {
        p->out.push_back(s[i]);
      } else if (keepdims_) {
        p->out.push_back(1);
      }
    }
    return OkStatus();
  }

  Red k_;
  int64_t keepdims_ = 1, noop_empty_ = 0;
  bool has_attr_axes_ = false;
  std::vector<int64_t> attr_axes_;
};

class ArgOp : public Op {
 public:
  explicit ArgOp(bool max) : max_(max) {}
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 0));
    QRT_ASSIGN_OR_RETURN(keepdims_, c.attr_int("keepdims", 1));
    QRT_ASSIGN_OR_RETURN(last_, c.attr_int("select_last_index", 0));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32}));
    const Shape& s = c.inputs[0]->shape;
    if (s.empty()) return InvalidArgument(c.where() + "input must have rank >= 1, got a scalar");
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, static_cast<int64_t>(s.size()), &a));
    if (s[static_cast<size_t>(a)] == 0)
      return InvalidArgument(c.where() + "axis " + std::to_string(a) + " of shape " + shape_str(s) +
                             " is empty: no index to return");
    Shape out;
    for (size_t i = 0; i < s.size(); ++i)
      if (static_cast<int64_t>(i) != a) out.push_back(s[i]);
      else if (keepdims_) out.push_back(1);
    c.outputs[0]->dtype = DType::kS64;
    c.outputs[0]->shape = out;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    return with_f32_s64_s32(c.in(0).dtype, [&](auto z) { return run_typed<decltype(z)>(c); });
  }

 private:
  template <typename T>
  Status run_typed(const RunContext& c) const {
    const Shape& s = c.in(0).shape;
    const int64_t a = axis_ < 0 ? axis_ + static_cast<int64_t>(s.size()) : axis_;
    size_t outer = 1, inner = 1;
    for (int64_t i = 0; i < a; ++i) outer *= static_cast<size_t>(s[static_cast<size_t>(i)]);
    for (size_t i = static_cast<size_t>(a) + 1; i < s.size(); ++i) inner *= static_cast<size_t>(s[i]);
    const size_t n = static_cast<size_t>(s[static_cast<size_t>(a)]);
    const T* x = c.in(0).as<T>();
    int64_t* y = c.out(0).as<int64_t>();
    const bool mx = max_, last = last_ != 0;
    // b beats the current best: strictly more extreme, or equal (or a NaN after a NaN) when the
    // last index is wanted; a NaN beats any number.
    auto better = [mx, last](T b, T best) {
      if (b != b) return best == best || last;
      if (best != best) return false;
      return mx ? (b > best || (last && b == best)) : (b < best || (last && b == best));
    };
    for (size_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < inner; ++i) {
        const T* p = x + o * n * inner + i;
        size_t bi = 0;
        for (size_t k = 1; k < n; ++k)
          if (better(p[k * inner], p[bi * inner])) bi = k;
        y[o * inner + i] = static_cast<int64_t>(bi);
      }
    return OkStatus();
  }
  bool max_;
  int64_t axis_ = 0, keepdims_ = 1, last_ = 0;
};

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  r.add("ReduceProd", make_factory<ReduceOp>(Red::kProd));
  r.add("ReduceL1", make_factory<ReduceOp>(Red::kL1));
  r.add("ReduceSumSquare", make_factory<ReduceOp>(Red::kSumSquare));
  r.add("ReduceLogSum", make_factory<ReduceOp>(Red::kLogSum));
  r.add("ReduceLogSumExp", make_factory<ReduceOp>(Red::kLogSumExp));
  r.add("ArgMax", make_factory<ArgOp>(true));
  r.add("ArgMin", make_factory<ArgOp>(false));
  r.add("ReduceMean", make_factory<ReduceOp>(Red::kMean));
  r.add("ReduceSum", make_factory<ReduceOp>(Red::kSum));
  r.add("ReduceL2", make_factory<ReduceOp>(Red::kL2));
  r.add("ReduceMax", make_factory<ReduceOp>(Red::kMax));
  r.add("ReduceMin", make_factory<ReduceOp>(Red::kMin));
}

}  // namespace qrt::rt::ops
