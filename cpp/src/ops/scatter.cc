// ScatterND and ScatterElements with ONNX semantics: output = a copy of data with the addressed
// elements or slices replaced by (or, with `reduction`, combined with) updates. What exports of
// in-place tensor writes (`y[:, 2] = 0`, `index_put_`, `scatter_`) become.
//   ScatterND(data, indices, updates; reduction)        indices [..., k] (s64/s32), 1 <= k <=
//       rank(data); updates = indices.shape[:-1] + data.shape[k:]; each index tuple addresses one
//       slice data[i0, ..., ik-1].
//   ScatterElements(data, indices, updates; axis, reduction)   indices and updates of one shape
//       and data's rank, no larger than data except along axis; updates[i] goes to data[i with
//       i[axis] = indices[i]].
// reduction: "none" (any dtype; a later update of a repeated index wins, as ONNX's reference and
// ONNX Runtime on one thread), "add", "mul", "max", "min" (f32, s64, s32). Negative indices count
// from the end; one outside [-n, n) is an InvalidArgument naming it (from infer() when the indices
// are known at plan time, else from run()), never an out-of-bounds write.
#include <algorithm>
#include <cstring>
#include <string>

#include "ops/float_ops.h"
#include "ops/op_util.h"

namespace qrt::rt::ops {
namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Result<Reduction> parse_reduction(const CreateContext& c) {
  QRT_ASSIGN_OR_RETURN(std::string r, c.attr_string("reduction", "none"));
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  return InvalidArgument(c.where() + "reduction must be none, add, mul, max or min, got '" + r + "'");
}

// data: any dtype (none) or f32 / s64 / s32 (the reductions); indices s64 / s32; updates: data's.
Status check_dtypes(const InferContext& c, Reduction r) {
  if (r == Reduction::kNone) {
    if (elem_size(c.inputs[0]->dtype) == 0) return InvalidArgument(c.where() + "data has undefined dtype");
  } else {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32}));
  }
  QRT_RETURN_IF_ERROR(expect_dtype(c, 1, {DType::kS64, DType::kS32}, /*onnx_forbids=*/true));
  if (c.inputs[2]->dtype != c.inputs[0]->dtype)
    return InvalidArgument(c.where() + "updates dtype " + dt_name(c.inputs[2]->dtype) + " differs from data's " +
                           dt_name(c.inputs[0]->dtype));
  return OkStatus();
}

int64_t index_at(const void* p, DType t, size_t i) {
  return t == DType::kS64 ? static_cast<const int64_t*>(p)[i] : static_cast<const int32_t*>(p)[i];
}

Status out_of_range(const std::string& where, int64_t k, int64_t dim, const std::string& what) {
  return InvalidArgument(where + "index " + std::to_string(k) + " is out of range for " + what + " of size " +
                         std::to_string(dim));
}

// dst[i] (op)= src[i] for n elements of T.
template <typename T>
void combine(T* dst, const T* src, size_t n, Reduction r) {
  for (size_t i = 0; i < n; ++i) {
    switch (r) {
      case Reduction::kAdd: dst[i] = dst[i] + src[i]; break;
      case Reduction::kMul: dst[i] = dst[i] * src[i]; break;
      case Reduction::kMax: dst[i] = std::max(dst[i], src[i]); break;
      case Reduction::kMin: dst[i] = std::min(dst[i], src[i]); break;
      case Reduction::kNone: dst[i] = src[i]; break;
    }
  }
}

// n elements of dtype t from src into dst, replaced or combined.
void apply(uint8_t* dst, const uint8_t* src, size_t n, DType t, Reduction r) {
  if (r == Reduction::kNone) {
    std::memcpy(dst, src, n * elem_size(t));
    return;
  }
  (void)with_f32_s64_s32(t, [&](auto z) {
    using T = decltype(z);
    combine<T>(reinterpret_cast<T*>(dst), reinterpret_cast<const T*>(src), n, r);
    return OkStatus();
  });
}

void copy_data(const Tensor& x, Tensor& y) {
  if (y.data != x.data && y.numel()) std::memcpy(y.data, x.data, y.numel() * elem_size(x.dtype));
}

class ScatterNDOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 3, 3, 1, 1));
    QRT_ASSIGN_OR_RETURN(red_, parse_reduction(c));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(check_dtypes(c, red_));
    const ValueInfo* x = c.inputs[0];
    const ValueInfo* idx = c.inputs[1];
    const ValueInfo* up = c.inputs[2];
    const size_t r = x->shape.size(), q = idx->shape.size();
    if (r == 0 || q == 0)
      return InvalidArgument(c.where() + "data and indices must have rank >= 1, got " + shape_str(x->shape) +
                             " and " + shape_str(idx->shape));
    const int64_t k = idx->shape.back();
    if (k < 1 || k > static_cast<int64_t>(r))
      return InvalidArgument(c.where() + "the last dimension of indices " + shape_str(idx->shape) +
                             " must be in [1, rank(data) = " + std::to_string(r) + "]");
    Shape want(idx->shape.begin(), idx->shape.end() - 1);
    want.insert(want.end(), x->shape.begin() + k, x->shape.end());
    if (up->shape != want)
      return InvalidArgument(c.where() + "updates must have shape " + shape_str(want) +
                             " (indices.shape[:-1] + data.shape[k:]), got " + shape_str(up->shape));
    if (idx->data) QRT_RETURN_IF_ERROR(check_indices(c.where(), x->shape, idx->data, idx->dtype, idx->shape));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = x->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const Tensor& it = c.in(1);
    const Tensor& up = c.in(2);
    Tensor& y = c.out(0);
    QRT_RETURN_IF_ERROR(check_indices("ScatterND: ", x.shape, it.data, it.dtype, it.shape));
    copy_data(x, y);
    const size_t k = static_cast<size_t>(it.shape.back());
    const size_t tuples = it.numel() / k;
    size_t slice = 1;
    for (size_t d = k; d < x.shape.size(); ++d) slice *= static_cast<size_t>(x.shape[d]);
    if (slice == 0) return OkStatus();
    const std::vector<int64_t> xs = strides_of(x.shape);
    const size_t es = elem_size(x.dtype);
    auto* dst = static_cast<uint8_t*>(y.data);
    const auto* src = static_cast<const uint8_t*>(up.data);
    for (size_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      for (size_t d = 0; d < k; ++d) {
        int64_t v = index_at(it.data, it.dtype, t * k + d);
        if (v < 0) v += x.shape[d];
        off += v * xs[d];
      }
      apply(dst + static_cast<size_t>(off) * es, src + t * slice * es, slice, x.dtype, red_);
    }
    return OkStatus();
  }

 private:
  static Status check_indices(const std::string& where, const Shape& xs, const void* p, DType t,
                              const Shape& is) {
    const size_t k = static_cast<size_t>(is.back());
    const size_t n = shape_numel(is);
    for (size_t i = 0; i < n; ++i) {
      const int64_t v = index_at(p, t, i), dim = xs[i % k];
      if (v < -dim || v >= dim) return out_of_range(where, v, dim, "data dimension " + std::to_string(i % k));
    }
    return OkStatus();
  }
  Reduction red_ = Reduction::kNone;
};

class ScatterElementsOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 3, 3, 1, 1));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 0));
    QRT_ASSIGN_OR_RETURN(red_, parse_reduction(c));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(check_dtypes(c, red_));
    const ValueInfo* x = c.inputs[0];
    const ValueInfo* idx = c.inputs[1];
    const ValueInfo* up = c.inputs[2];
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    if (rank == 0) return InvalidArgument(c.where() + "data must have rank >= 1, got a scalar");
    if (idx->shape.size() != x->shape.size() || up->shape != idx->shape)
      return InvalidArgument(c.where() + "indices " + shape_str(idx->shape) + " and updates " +
                             shape_str(up->shape) + " must have one shape of data's rank " + std::to_string(rank));
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, rank, &a));
    for (int64_t d = 0; d < rank; ++d)
      if (d != a && idx->shape[d] > x->shape[d])
        return InvalidArgument(c.where() + "indices " + shape_str(idx->shape) + " exceed data " +
                               shape_str(x->shape) + " in dimension " + std::to_string(d));
    if (idx->data)  // known now: report a bad index at plan time
      QRT_RETURN_IF_ERROR(check_indices(c.where(), idx->data, idx->dtype, shape_numel(idx->shape),
                                        x->shape[static_cast<size_t>(a)], a));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = x->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const Tensor& it = c.in(1);
    const Tensor& up = c.in(2);
    Tensor& y = c.out(0);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t a = axis_ < 0 ? axis_ + rank : axis_;
    const int64_t dim = x.shape[static_cast<size_t>(a)];
    const size_t n = it.numel();
    QRT_RETURN_IF_ERROR(check_indices("ScatterElements: ", it.data, it.dtype, n, dim, a));  // before any write
    copy_data(x, y);
    if (n == 0) return OkStatus();
    const std::vector<int64_t> xs = strides_of(x.shape);
    const size_t es = elem_size(x.dtype);
    auto* dst = static_cast<uint8_t*>(y.data);
    const auto* src = static_cast<const uint8_t*>(up.data);
    std::vector<int64_t> pos(static_cast<size_t>(rank), 0);  // position of element i in indices
    for (size_t i = 0; i < n; ++i) {
      int64_t v = index_at(it.data, it.dtype, i);
      if (v < 0) v += dim;
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d) off += (d == a ? v : pos[static_cast<size_t>(d)]) * xs[static_cast<size_t>(d)];
      apply(dst + static_cast<size_t>(off) * es, src + i * es, 1, x.dtype, red_);
      for (int64_t d = rank; d-- > 0;) {
        if (++pos[static_cast<size_t>(d)] < it.shape[static_cast<size_t>(d)]) break;
        pos[static_cast<size_t>(d)] = 0;
      }
    }
    return OkStatus();
  }

 private:
  static Status check_indices(const std::string& where, const void* p, DType t, size_t n, int64_t dim,
                              int64_t axis) {
    for (size_t i = 0; i < n; ++i) {
      const int64_t v = index_at(p, t, i);
      if (v < -dim || v >= dim) return out_of_range(where, v, dim, "axis " + std::to_string(axis));
    }
    return OkStatus();
  }
  int64_t axis_ = 0;
  Reduction red_ = Reduction::kNone;
};

}  // namespace

void register_scatter_ops(OpRegistry& r) {
  r.add("ScatterND", make_factory<ScatterNDOp>());
  r.add("ScatterElements", make_factory<ScatterElementsOp>());
}

}  // namespace qrt::rt::ops
