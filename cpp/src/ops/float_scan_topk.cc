// CumSum and TopK with ONNX semantics, over one axis, f32 / s64 / s32.
//   CumSum(X, axis): axis (a scalar input) must be known at plan time; exclusive and reverse
//   attributes. Sums run sequentially in X's dtype, as ONNX's reference (numpy's cumsum) does.
//   TopK(X, K) -> (Values, Indices s64): K (a one-element input) must be known at plan time (it
//   decides the output shape), 0 <= K <= the axis length; largest, sorted attributes. The order
//   is ONNX's reference order whatever `sorted` says: by value (descending for largest), equal
//   values by ascending index; a NaN ranks above every number (first for largest, last for
//   smallest), NaNs tie.
#include <algorithm>
#include <numeric>

#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

// X viewed as [outer, n, inner] around `axis`.
struct AxisView {
  size_t outer = 1, n = 1, inner = 1;
};
AxisView axis_view(const Shape& s, int64_t axis) {
  AxisView v;
  for (int64_t i = 0; i < axis; ++i) v.outer *= static_cast<size_t>(s[static_cast<size_t>(i)]);
  v.n = static_cast<size_t>(s[static_cast<size_t>(axis)]);
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) v.inner *= static_cast<size_t>(s[i]);
  return v;
}

class CumSumOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 2, 2, 1, 1));
    QRT_ASSIGN_OR_RETURN(exclusive_, c.attr_int("exclusive", 0));
    QRT_ASSIGN_OR_RETURN(reverse_, c.attr_int("reverse", 0));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32}));
    const Shape& s = c.inputs[0]->shape;
    if (s.empty()) return InvalidArgument(c.where() + "input must have rank >= 1, got a scalar");
    std::vector<int64_t> axis;
    QRT_RETURN_IF_ERROR(read_ints(c.where(), "axis (input 1)", c.inputs[1], &axis));
    if (axis.size() != 1)
      return InvalidArgument(c.where() + "axis (input 1) must hold one value, got " + std::to_string(axis.size()));
    auto a = std::make_shared<int64_t>();
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis[0], static_cast<int64_t>(s.size()), a.get()));
    c.outputs[0]->dtype = c.inputs[0]->dtype;
    c.outputs[0]->shape = s;
    c.state = a;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    return with_f32_s64_s32(c.in(0).dtype, [&](auto z) { return run_typed<decltype(z)>(c); });
  }

 private:
  template <typename T>
  Status run_typed(const RunContext& c) const {
    const AxisView v = axis_view(c.in(0).shape, *static_cast<const int64_t*>(c.state));
    const T* x = c.in(0).as<T>();
    T* y = c.out(0).as<T>();
    if (c.out(0).numel() == 0) return OkStatus();
    const bool excl = exclusive_ != 0, rev = reverse_ != 0;
    // One outer slice per task: its n x inner block is scanned row by row, `inner` running sums
    // at a time, so memory is read in order.
    parallel_range(c.pool, v.outer, std::max<size_t>(1, 4096 / std::max<size_t>(1, v.n * v.inner)),
                   [&](size_t o0, size_t o1) {
      for (size_t o = o0; o < o1; ++o) {
        const T* xb = x + o * v.n * v.inner;
        T* yb = y + o * v.n * v.inner;
        for (size_t i = 0; i < v.inner; ++i) yb[(rev ? v.n - 1 : 0) * v.inner + i] = T(0);
        for (size_t s = 0; s < v.n; ++s) {
          const size_t k = rev ? v.n - 1 - s : s;
          T* yk = yb + k * v.inner;
          const T* xk = xb + k * v.inner;
          if (s == 0) {
            for (size_t i = 0; i < v.inner; ++i) yk[i] = excl ? T(0) : xk[i];
            continue;
          }
          const size_t p = rev ? k + 1 : k - 1;  // the previous position in scan order
          const T* yp = yb + p * v.inner;
          const T* xp = xb + p * v.inner;
          for (size_t i = 0; i < v.inner; ++i) yk[i] = excl ? T(yp[i] + xp[i]) : T(yp[i] + xk[i]);
        }
      }
    });
    return OkStatus();
  }
  int64_t exclusive_ = 0, reverse_ = 0;
};

constexpr size_t kChunks = 4;  // parallel chunks of TopK lines (2-4 threads is the common case)

struct TopKPlan {
  int64_t axis = 0;
  size_t k = 0;
};

class TopKOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 2, 2, 1, 2));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", -1));
    QRT_ASSIGN_OR_RETURN(largest_, c.attr_int("largest", 1));
    QRT_ASSIGN_OR_RETURN(sorted_, c.attr_int("sorted", 1));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32}));
    const Shape& s = c.inputs[0]->shape;
    if (s.empty()) return InvalidArgument(c.where() + "input must have rank >= 1, got a scalar");
    auto p = std::make_shared<TopKPlan>();
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, static_cast<int64_t>(s.size()), &p->axis));
    std::vector<int64_t> k;
    QRT_RETURN_IF_ERROR(read_ints(c.where(), "K (input 1)", c.inputs[1], &k));
    const int64_t n = s[static_cast<size_t>(p->axis)];
    if (k.size() != 1 || k[0] < 0 || k[0] > n)
      return InvalidArgument(c.where() + "K (input 1) must be one value in [0, " + std::to_string(n) +
                             "] (the length of axis " + std::to_string(p->axis) + "), got " +
                             (k.size() == 1 ? std::to_string(k[0]) : std::to_string(k.size()) + " values"));
    p->k = static_cast<size_t>(k[0]);
    Shape out = s;
    out[static_cast<size_t>(p->axis)] = k[0];
    c.outputs[0]->dtype = c.inputs[0]->dtype;
    c.outputs[0]->shape = out;
    if (c.outputs.size() > 1 && c.outputs[1]) {
      c.outputs[1]->dtype = DType::kS64;
      c.outputs[1]->shape = out;
    }
    if (n > int64_t{0xFFFFFFFF})
      return Unsupported(c.where() + "axis of " + std::to_string(n) + " elements (more than 2^32 - 1)");
    // One index buffer of the axis length per chunk of lines.
    c.scratch_bytes = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(uint32_t) * kChunks;
    c.state = p;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    return with_f32_s64_s32(c.in(0).dtype, [&](auto z) { return run_typed<decltype(z)>(c); });
  }

 private:
  template <typename T>
  Status run_typed(const RunContext& c) const {
    const TopKPlan& p = *static_cast<const TopKPlan*>(c.state);
    const AxisView v = axis_view(c.in(0).shape, p.axis);
    const size_t k = p.k, lines = v.outer * v.inner;
    if (k == 0 || lines == 0) return OkStatus();
    const T* x = c.in(0).as<T>();
    T* vals = c.out(0).as<T>();
    int64_t* idx = c.num_outputs > 1 && c.outputs[1] ? c.out(1).as<int64_t>() : nullptr;
    const bool largest = largest_ != 0;
    // a ranks before b (indices into the line): NaN above numbers, ties by index.
    auto before = [largest](T a, size_t ia, T b, size_t ib) {
      const bool na = a != a, nb = b != b;
      if (na || nb) {
        if (na && nb) return ia < ib;
        return largest ? na : nb;
      }
      if (a != b) return largest ? a > b : a < b;
      return ia < ib;
    };
    // Lines in up to kChunks chunks, each with its own index buffer in the scratch.
    const size_t chunks = std::min<size_t>(lines, kChunks);
    uint32_t* scratch = static_cast<uint32_t*>(c.scratch);
    parallel_range(c.pool, chunks, 1, [&](size_t c0, size_t c1) {
      for (size_t ch = c0; ch < c1; ++ch) {
        uint32_t* order = scratch + ch * std::max<size_t>(v.n, 1);
        const size_t l0 = lines * ch / chunks, l1 = lines * (ch + 1) / chunks;
        for (size_t l = l0; l < l1; ++l) {
          const size_t o = l / v.inner, i = l % v.inner;
          const T* line = x + o * v.n * v.inner + i;
          std::iota(order, order + v.n, uint32_t{0});
          auto cmp = [&](uint32_t a, uint32_t b) { return before(line[a * v.inner], a, line[b * v.inner], b); };
          std::partial_sort(order, order + k, order + v.n, cmp);
          for (size_t j = 0; j < k; ++j) {
            const size_t at = (o * k + j) * v.inner + i;
            vals[at] = line[order[j] * v.inner];
            if (idx) idx[at] = static_cast<int64_t>(order[j]);
          }
        }
      }
    });
    return OkStatus();
  }
  int64_t axis_ = -1, largest_ = 1, sorted_ = 1;
};

}  // namespace

void register_scan_topk_ops(OpRegistry& r) {
  r.add("CumSum", make_factory<CumSumOp>());
  r.add("TopK", make_factory<TopKOp>());
}

}  // namespace qrt::rt::ops
