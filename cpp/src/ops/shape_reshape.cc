// Ops that change only the shape (the bytes are copied unchanged; any dtype):
//   Reshape(data, shape; allowzero)  0 copies the input dim (unless allowzero=1), -1 is inferred
//   Flatten(axis = 1)                [prod(dims[:axis]), prod(dims[axis:])], axis in [-r, r]
//   Squeeze(data, axes?)             axes input (opset 13) or attribute; none: drop all 1-dims
//   Unsqueeze(data, axes)            axes input (opset 13) or attribute, against the output rank
// Values of shape/axes inputs must be known at plan time.
#include <algorithm>

#include "ops/op_util.h"
#include "ops/shape_ops.h"

namespace qrt::rt::ops {
namespace {

enum class Rs { kReshape, kFlatten, kSqueeze, kUnsqueeze };

class ReshapeLikeOp : public Op {
 public:
  explicit ReshapeLikeOp(Rs k) : k_(k) {}

  Status init(const CreateContext& c) {
    switch (k_) {
      case Rs::kReshape: QRT_RETURN_IF_ERROR(check_arity(c, 1, 2, 1, 1)); break;
      case Rs::kFlatten: QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1)); break;
      case Rs::kSqueeze: case Rs::kUnsqueeze: QRT_RETURN_IF_ERROR(check_arity(c, 1, 2, 1, 1)); break;
    }
    QRT_ASSIGN_OR_RETURN(allowzero_, c.attr_int("allowzero", 0));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 1));
    const char* list = k_ == Rs::kReshape ? "shape" : "axes";
    has_attr_ = c.node.attr(list) != nullptr;
    QRT_ASSIGN_OR_RETURN(attr_, c.attr_ints(list, {}));
    if (k_ == Rs::kReshape && !has_attr_ && (c.node.inputs.size() < 2 || c.node.inputs[1] < 0))
      return InvalidArgument(c.where() + "the shape input is required");
    if (k_ == Rs::kUnsqueeze && !has_attr_ && (c.node.inputs.size() < 2 || c.node.inputs[1] < 0))
      return InvalidArgument(c.where() + "the axes input is required");
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    Shape out;
    std::vector<int64_t> v = attr_;
    bool given = has_attr_;
    if (c.inputs.size() > 1 && c.inputs[1]) {
      QRT_RETURN_IF_ERROR(
          read_ints(c.where(), k_ == Rs::kReshape ? "shape (input 1)" : "axes (input 1)",
                    c.inputs[1], &v));
      given = true;
    }
    switch (k_) {
      case Rs::kReshape: QRT_RETURN_IF_ERROR(reshape(c, x->shape, v, &out)); break;
      case Rs::kFlatten: QRT_RETURN_IF_ERROR(flatten(c, x->shape, &out)); break;
      case Rs::kSqueeze: QRT_RETURN_IF_ERROR(squeeze(c, x->shape, v, given, &out)); break;
      case Rs::kUnsqueeze: QRT_RETURN_IF_ERROR(unsqueeze(c, x->shape, v, &out)); break;
    }
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    if (c.out(0).data != x.data) std::memcpy(c.out(0).data, x.data, x.numel() * elem_size(x.dtype));
    return OkStatus();
  }

 private:
  Status reshape(const InferContext& c, const Shape& in, const std::vector<int64_t>& want,
                 Shape* out) const {
    int64_t infer_at = -1;
    bool has_zero = false;
    size_t known = 1;
    *out = want;
    for (size_t i = 0; i < want.size(); ++i) {
      int64_t d = want[i];
      if (d == -1) {
        if (infer_at >= 0)
          return InvalidArgument(c.where() + "shape " + shape_str(want) + " has more than one -1");
        infer_at = static_cast<int64_t>(i);
        continue;
      }
      if (d < -1)
        return InvalidArgument(c.where() + "shape " + shape_str(want) + " has a negative dim");
      if (d == 0 && !allowzero_) {
        if (i >= in.size())
          return InvalidArgument(c.where() + "shape " + shape_str(want) + " copies dim " +
                                 std::to_string(i) + " (0) but the input " + shape_str(in) +
                                 " has rank " + std::to_string(in.size()));
        (*out)[i] = in[i];
      }
      if (d == 0) has_zero = true;
      known *= static_cast<size_t>((*out)[i]);
    }
    if (allowzero_ && has_zero && infer_at >= 0)
      return InvalidArgument(c.where() + "shape " + shape_str(want) +
                             " has both 0 and -1 with allowzero=1");
    const size_t n = shape_numel(in);
    if (infer_at >= 0) {
      if (known == 0 || n % known != 0)
        return InvalidArgument(c.where() + "cannot infer -1 in " + shape_str(want) +
                               " for an input of shape " + shape_str(in));
      (*out)[infer_at] = static_cast<int64_t>(n / known);
    }
    if (shape_numel(*out) != n)
      return InvalidArgument(c.where() + "cannot reshape " + shape_str(in) + " (" +
                             std::to_string(n) + " elements) to " + shape_str(want) + " -> " +
                             shape_str(*out));
    return OkStatus();
  }

  Status flatten(const InferContext& c, const Shape& in, Shape* out) const {
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, static_cast<int64_t>(in.size()), &a,
                                  /*allow_end=*/true));
    int64_t l = 1, r = 1;
    for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) (i < a ? l : r) *= in[i];
    *out = {l, r};
    return OkStatus();
  }

  Status squeeze(const InferContext& c, const Shape& in, const std::vector<int64_t>& axes,
                 bool given, Shape* out) const {
    std::vector<bool> drop(in.size(), false);
    if (!given || axes.empty()) {
      for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
    }
    for (int64_t a : axes) {
      int64_t n;
      QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", a, static_cast<int64_t>(in.size()), &n));
      if (in[n] != 1)
        return InvalidArgument(c.where() + "cannot squeeze axis " + std::to_string(a) +
                               " of shape " + shape_str(in) + ": its size is " +
                               std::to_string(in[n]) + ", not 1");
      drop[n] = true;
    }
    out->clear();
    for (size_t i = 0; i < in.size(); ++i)
      if (!drop[i]) out->push_back(in[i]);
    return OkStatus();
  }

  Status unsqueeze(const InferContext& c, const Shape& in, const std::vector<int64_t>& axes,
                   Shape* out) const {
    const int64_t rank = static_cast<int64_t>(in.size() + axes.size());
    std::vector<bool> ins(rank, false);
    for (int64_t a : axes) {
      int64_t n;
      QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", a, rank, &n));
      if (ins[n])
        return InvalidArgument(c.where() + "axes " + shape_str(axes) + " repeat an axis");
      ins[n] = true;
    }
    out->clear();
    size_t j = 0;
    for (int64_t i = 0; i < rank; ++i) out->push_back(ins[i] ? 1 : in[j++]);
    return OkStatus();
  }

  Rs k_;
  int64_t allowzero_ = 0, axis_ = 1;
  bool has_attr_ = false;
  std::vector<int64_t> attr_;
};

}  // namespace

void register_reshape_ops(OpRegistry& r) {
  r.add("Reshape", make_factory<ReshapeLikeOp>(Rs::kReshape));
  r.add("Flatten", make_factory<ReshapeLikeOp>(Rs::kFlatten));
  r.add("Squeeze", make_factory<ReshapeLikeOp>(Rs::kSqueeze));
  r.add("Unsqueeze", make_factory<ReshapeLikeOp>(Rs::kUnsqueeze));
}

}  // namespace qrt::rt::ops
