#include "ops/op_util.h"

#include <cmath>

namespace qrt::rt::ops {

size_t elem_size(DType t) {
  switch (t) {
    case DType::kF32: case DType::kS32: return 4;
    case DType::kF16: case DType::kBF16: return 2;
    case DType::kS8: case DType::kU8: case DType::kBool: return 1;
    case DType::kS64: return 8;
    default: return 0;
  }
}

const char* dt_name(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kS8: return "s8";
    case DType::kU8: return "u8";
    case DType::kS32: return "s32";
    case DType::kS64: return "s64";
    case DType::kBool: return "bool";
    default: return "undefined";
  }
}

Status norm_axis(const std::string& where, const char* what, int64_t axis, int64_t rank,
                 int64_t* out, bool allow_end) {
  // Valid: [-rank, rank) or, with allow_end, [-rank, rank]; negative values count from rank.
  int64_t hi = allow_end ? rank : rank - 1;
  if (axis < -rank || axis > hi)
    return InvalidArgument(where + what + " " + std::to_string(axis) + " is out of range [" +
                           std::to_string(-rank) + ", " + std::to_string(hi) + "] for rank " +
                           std::to_string(rank));
  *out = axis < 0 ? axis + rank : axis;
  return OkStatus();
}

Status read_ints(const std::string& where, const char* what, const ValueInfo* v,
                 std::vector<int64_t>* out) {
  out->clear();
  if (!v) return InvalidArgument(where + what + " is missing");
  if (v->dtype != DType::kS64 && v->dtype != DType::kS32)
    return InvalidArgument(where + what + " must be s64 or s32, got " + dt_name(v->dtype));
  if (v->shape.size() > 1)
    return InvalidArgument(where + what + " must be a scalar or 1-D, got shape " +
                           shape_str(v->shape));
  if (!v->data)
    return Unsupported(where + what +
                       " must be a constant or computable at plan time (its value decides "
                       "output shapes)");
  size_t n = v->numel();
  out->resize(n);
  if (v->dtype == DType::kS64) {
    if (n) std::memcpy(out->data(), v->data, n * 8);
  } else {
    const int32_t* p = static_cast<const int32_t*>(v->data);
    for (size_t i = 0; i < n; ++i) (*out)[i] = p[i];
  }
  return OkStatus();
}

std::vector<int64_t> tensor_ints(const Tensor& t) {
  size_t n = t.numel();
  std::vector<int64_t> v(n);
  if (t.dtype == DType::kS64) {
    if (n) std::memcpy(v.data(), t.data, n * 8);
  } else {
    for (size_t i = 0; i < n; ++i) v[i] = t.as<int32_t>()[i];
  }
  return v;
}

double tensor_scalar(const Tensor& t) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[0];
    case DType::kS64: return static_cast<double>(t.as<int64_t>()[0]);
    case DType::kS32: return t.as<int32_t>()[0];
    case DType::kU8: return t.as<uint8_t>()[0];
    case DType::kS8: return t.as<int8_t>()[0];
    default: return 0.0;
  }
}

Status check_arity(const CreateContext& c, size_t min_in, size_t max_in, size_t min_out,
                   size_t max_out) {
  size_t ni = c.node.inputs.size(), no = c.node.outputs.size();
  if (ni < min_in || ni > max_in) {
    std::string range = min_in == max_in ? std::to_string(min_in)
                                         : std::to_string(min_in) + ".." + std::to_string(max_in);
    return InvalidArgument(c.where() + "expected " + range + " inputs, got " + std::to_string(ni));
  }
  for (size_t i = 0; i < min_in; ++i)
    if (c.node.inputs[i] < 0)
      return InvalidArgument(c.where() + "required input " + std::to_string(i) + " is absent");
  if (no < min_out || no > max_out) {
    std::string range = min_out == max_out
                            ? std::to_string(min_out)
                            : std::to_string(min_out) + ".." + std::to_string(max_out);
    return InvalidArgument(c.where() + "expected " + range + " outputs, got " + std::to_string(no));
  }
  if (no > 0 && c.node.outputs[0] < 0)
    return InvalidArgument(c.where() + "output 0 is required");
  return OkStatus();
}

Status expect_dtype(const InferContext& c, size_t i, std::initializer_list<DType> allowed,
                    bool onnx_forbids) {
  const ValueInfo* v = c.inputs[i];
  for (DType d : allowed)
    if (v->dtype == d) return OkStatus();
  std::string names;
  for (DType d : allowed) names += std::string(names.empty() ? "" : "/") + dt_name(d);
  std::string msg = c.where() + "input " + std::to_string(i) + " must be " + names + ", got " +
                    dt_name(v->dtype);
  if (onnx_forbids || v->dtype == DType::kUndefined) return InvalidArgument(msg);
  return Unsupported(msg + " (not implemented for this operator)");
}

bool same_quant(const format::QuantParams* a, const format::QuantParams* b) {
  bool ea = !a || a->empty(), eb = !b || b->empty();
  if (ea || eb) return ea == eb;
  return a->axis == b->axis && a->scales == b->scales && a->zero_points == b->zero_points;
}

Status check_passthrough_quant(const InferContext& c, size_t in, size_t out) {
  const ValueInfo* x = c.inputs[in];
  const ValueInfo* y = c.outputs[out];
  if (!is_quant(x->dtype)) return OkStatus();
  const format::QuantParams* yq = y->quant;
  if (!yq || yq->empty()) return OkStatus();  // record without params: takes the input's
  if (!same_quant(x->quant, yq))
    return InvalidArgument(c.where() + "output " + std::to_string(out) +
                           " quantization parameters differ from input " + std::to_string(in) +
                           "'s; this op moves " + dt_name(x->dtype) +
                           " values unchanged, so the records must agree");
  return OkStatus();
}

DType onnx_dtype(int64_t code) {
  switch (code) {
    case 1: return DType::kF32;
    case 2: return DType::kU8;
    case 3: return DType::kS8;
    case 6: return DType::kS32;
    case 7: return DType::kS64;
    case 9: return DType::kBool;
    case 10: return DType::kF16;
    case 16: return DType::kBF16;
    default: return DType::kUndefined;
  }
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

}  // namespace qrt::rt::ops
