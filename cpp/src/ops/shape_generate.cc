// Ops that produce shapes or fill tensors:
//   Shape(start?, end?)          any input dtype -> s64 [n]. The value is known from the input's
//                                shape alone, so infer() also publishes it as the output's
//                                plan-time value (ValueInfo::data, owned by the plan state):
//                                Shape -> Gather -> Concat -> Reshape chains fold at plan time.
//   Size                         any input dtype -> s64 scalar, the element count (also a
//                                plan-time value, as Shape)
//   Range(start, limit, delta)   f32 / s64 / s32 scalars, known at plan time
//   ConstantOfShape(shape; value) value: float or int attribute (default f32 0); the output
//                                record's dtype, when set, decides the element type
//   Expand(input, shape)         bidirectional broadcast to `shape`, any dtype
//   Tile(input, repeats)         any dtype
//   Pad(data, pads, constant_value?, axes?; mode)
//                                any dtype; pads (begins then ends, per axis; negative crops)
//                                and axes known at plan time (opset < 11: the pads / value
//                                attributes); mode constant (the scalar constant_value, default
//                                0), reflect (mirror without repeating the edge), edge (repeat
//                                it) or wrap (periodic). reflect needs pads below the dimension
//                                and edge / reflect / wrap a non-empty one.
//   Trilu(input, k?; upper)      any dtype but u8/s8 (a quantized zero is the zero point, not
//                                0), rank >= 2: keeps the elements on and above (upper = 1, the
//                                default) or on and below (upper = 0) the k-th diagonal of each
//                                trailing matrix and zeroes the rest; k (s64 scalar, default 0)
//                                may be computed at run time. Exports of causal masks with a
//                                run-time length (scaled_dot_product_attention(is_causal=True)).
#include <algorithm>
#include <cmath>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"

namespace qrt::rt::ops {
namespace {

class ShapeOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    QRT_ASSIGN_OR_RETURN(start_, c.attr_int("start", 0));
    has_end_ = c.node.attr("end") != nullptr;
    QRT_ASSIGN_OR_RETURN(end_, c.attr_int("end", 0));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    auto v = std::make_shared<std::vector<int64_t>>(dims(c.inputs[0]->shape));
    c.outputs[0]->dtype = DType::kS64;
    c.outputs[0]->shape = {static_cast<int64_t>(v->size())};
    c.outputs[0]->data = v->data();
    c.state = v;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    std::vector<int64_t> v = dims(c.in(0).shape);
    if (!v.empty()) std::memcpy(c.out(0).data, v.data(), v.size() * 8);
    return OkStatus();
  }

 private:
  std::vector<int64_t> dims(const Shape& s) const {
    const int64_t r = static_cast<int64_t>(s.size());
    auto clamp = [r](int64_t v) {
      if (v < 0) v += r;
      return std::min(std::max<int64_t>(v, 0), r);
    };
    int64_t b = clamp(start_), e = has_end_ ? clamp(end_) : r;
    std::vector<int64_t> v;
    for (int64_t i = b; i < e; ++i) v.push_back(s[i]);
    return v;
  }
  int64_t start_ = 0, end_ = 0;
  bool has_end_ = false;
};

class SizeOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 1, 1, 1, 1); }
  Status infer(InferContext& c) const override {
    auto v = std::make_shared<int64_t>(static_cast<int64_t>(c.inputs[0]->numel()));
    c.outputs[0]->dtype = DType::kS64;
    c.outputs[0]->shape = {};
    c.outputs[0]->data = v.get();
    c.state = v;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const int64_t n = static_cast<int64_t>(c.in(0).numel());
    std::memcpy(c.out(0).data, &n, 8);
    return OkStatus();
  }
};

class RangeOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 3, 3, 1, 1); }
  Status infer(InferContext& c) const override {
    QRT_RETURN_IF_ERROR(expect_dtype(c, 0, {DType::kF32, DType::kS64, DType::kS32}));
    const DType t = c.inputs[0]->dtype;
    double v[3];
    static const char* names[] = {"start", "limit", "delta"};
    for (size_t i = 0; i < 3; ++i) {
      const ValueInfo* x = c.inputs[i];
      if (x->dtype != t)
        return InvalidArgument(c.where() + names[i] + " dtype " + dt_name(x->dtype) +
                               " differs from start's " + dt_name(t));
      if (x->numel() != 1)
        return InvalidArgument(c.where() + names[i] + " must be a scalar, got shape " +
                               shape_str(x->shape));
      if (!x->data)
        return Unsupported(c.where() + names[i] +
                           " must be a constant or computable at plan time (it decides the "
                           "output length)");
      Tensor tmp;
      tmp.dtype = t;
      tmp.data = const_cast<void*>(x->data);
      v[i] = tensor_scalar(tmp);
    }
    if (v[2] == 0.0) return InvalidArgument(c.where() + "delta must not be 0");
    double n = std::ceil((v[1] - v[0]) / v[2]);
    if (!(n >= 0.0)) n = 0.0;
    if (n > 1e12) return InvalidArgument(c.where() + "range has too many elements");
    c.outputs[0]->dtype = t;
    c.outputs[0]->shape = {static_cast<int64_t>(n)};
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    Tensor& y = c.out(0);
    const size_t n = y.numel();
    const DType t = y.dtype;
    if (t == DType::kF32) {
      const float s = c.in(0).as<float>()[0], d = c.in(2).as<float>()[0];
      for (size_t i = 0; i < n; ++i) y.as<float>()[i] = s + static_cast<float>(i) * d;
    } else if (t == DType::kS64) {
      const int64_t s = c.in(0).as<int64_t>()[0], d = c.in(2).as<int64_t>()[0];
      for (size_t i = 0; i < n; ++i) y.as<int64_t>()[i] = s + static_cast<int64_t>(i) * d;
    } else {
      const int32_t s = c.in(0).as<int32_t>()[0], d = c.in(2).as<int32_t>()[0];
      for (size_t i = 0; i < n; ++i) y.as<int32_t>()[i] = s + static_cast<int32_t>(i) * d;
    }
    return OkStatus();
  }
};

class ConstantOfShapeOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1, 1, 1));
    const format::AttrDef* a = c.node.attr("value");
    DType t = DType::kF32;
    if (a) {
      if (a->type == format::AttrType::kFloat || (a->type == format::AttrType::kFloats && a->floats.size() == 1)) {
        value_ = a->type == format::AttrType::kFloat ? a->f : a->floats[0];
      } else if (a->type == format::AttrType::kInt || (a->type == format::AttrType::kInts && a->ints.size() == 1)) {
        value_ = static_cast<double>(a->type == format::AttrType::kInt ? a->i : a->ints[0]);
        t = DType::kS64;
      } else {
        return InvalidArgument(c.where() + "attribute 'value' must be one float or int");
      }
    }
    const format::TensorDef* o = c.output(0);
    if (o && o->dtype != DType::kUndefined) t = o->dtype;
    if (elem_size(t) == 0) return InvalidArgument(c.where() + "output dtype is undefined");
    dtype_ = t;
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    std::vector<int64_t> shape;
    QRT_RETURN_IF_ERROR(read_ints(c.where(), "shape (input 0)", c.inputs[0], &shape));
    for (int64_t d : shape)
      if (d < 0)
        return InvalidArgument(c.where() + "shape " + shape_str(shape) + " has a negative dim");
    c.outputs[0]->dtype = dtype_;
    c.outputs[0]->shape = shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    Tensor& y = c.out(0);
    const size_t n = y.numel(), es = elem_size(dtype_);
    if (n == 0) return OkStatus();
    uint8_t one[8] = {};
    switch (dtype_) {  // the element's bytes
      case DType::kF32: { float f = static_cast<float>(value_); std::memcpy(one, &f, 4); break; }
      case DType::kS64: { int64_t v = static_cast<int64_t>(value_); std::memcpy(one, &v, 8); break; }
      case DType::kS32: { int32_t v = static_cast<int32_t>(value_); std::memcpy(one, &v, 4); break; }
      case DType::kBool: one[0] = value_ != 0.0; break;
      case DType::kU8: one[0] = static_cast<uint8_t>(value_); break;
      case DType::kS8: one[0] = static_cast<uint8_t>(static_cast<int8_t>(value_)); break;
      default: break;  // f16/bf16: only 0 is meaningful without a converter here
    }
    char* out = static_cast<char*>(y.data);
    for (size_t i = 0; i < n; ++i) std::memcpy(out + i * es, one, es);
    return OkStatus();
  }

 private:
  double value_ = 0.0;
  DType dtype_ = DType::kF32;
};

// Copies `x` broadcast to shape `so` (elements of `es` bytes).
template <typename T>
void broadcast_copy_t(ThreadPool* pool, const Tensor& x, void* out, const Shape& so) {
  BroadcastPlan p = make_broadcast_plan({&x.shape}, so);
  const T* in = x.as<T>();
  T* o = static_cast<T*>(out);
  const int64_t s = p.strides[0].back(), n = p.inner();
  for_each_row(pool, p, [&](const BroadcastCursor& c, int64_t oo) {
    const T* src = in + c.offset(0);
    if (s) {
      std::memcpy(o + oo, src, static_cast<size_t>(n) * sizeof(T));
    } else {
      std::fill(o + oo, o + oo + n, *src);
    }
  });
}

class ExpandOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 2, 2, 1, 1); }
  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    std::vector<int64_t> shape;
    QRT_RETURN_IF_ERROR(read_ints(c.where(), "shape (input 1)", c.inputs[1], &shape));
    Shape out;
    if (!broadcast_shape({&x->shape, &shape}, &out))
      return InvalidArgument(c.where() + "input shape " + shape_str(x->shape) +
                             " cannot be expanded to " + shape_str(shape));
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    if (y.numel() == 0) return OkStatus();
    switch (elem_size(x.dtype)) {
      case 1: broadcast_copy_t<uint8_t>(c.pool, x, y.data, y.shape); break;
      case 2: broadcast_copy_t<uint16_t>(c.pool, x, y.data, y.shape); break;
      case 4: broadcast_copy_t<uint32_t>(c.pool, x, y.data, y.shape); break;
      default: broadcast_copy_t<uint64_t>(c.pool, x, y.data, y.shape); break;
    }
    return OkStatus();
  }
};

class TileOp : public Op {
 public:
  Status init(const CreateContext& c) { return check_arity(c, 2, 2, 1, 1); }
  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    std::vector<int64_t> rep;
    QRT_RETURN_IF_ERROR(read_ints(c.where(), "repeats (input 1)", c.inputs[1], &rep));
    if (rep.size() != x->shape.size())
      return InvalidArgument(c.where() + "repeats " + shape_str(rep) + " must have one entry per " +
                             "input dim, input shape is " + shape_str(x->shape));
    Shape out = x->shape;
    for (size_t i = 0; i < rep.size(); ++i) {
      if (rep[i] < 0)
        return InvalidArgument(c.where() + "repeats " + shape_str(rep) + " has a negative entry");
      out[i] *= rep[i];
    }
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    if (y.numel() == 0) return OkStatus();
    const size_t es = elem_size(x.dtype);
    const Shape &is = x.shape, &os = y.shape;
    if (os.empty()) {
      std::memcpy(y.data, x.data, es);
      return OkStatus();
    }
    std::vector<int64_t> ist = strides_of(is);
    const size_t r = os.size(), in_row = static_cast<size_t>(is.back()) * es;
    const size_t out_row = static_cast<size_t>(os.back()) * es;
    const size_t rows = y.numel() / static_cast<size_t>(os.back());
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    parallel_range(c.pool, rows, 64, [&](size_t b, size_t e) {
      for (size_t row = b; row < e; ++row) {
        int64_t off = 0;
        size_t q = row;
        for (size_t i = r - 1; i-- > 0;) {
          off += static_cast<int64_t>((q % static_cast<size_t>(os[i])) % static_cast<size_t>(is[i])) * ist[i];
          q /= static_cast<size_t>(os[i]);
        }
        char* o = out + row * out_row;
        for (size_t k = 0; k < out_row; k += in_row) std::memcpy(o + k, in + off * static_cast<int64_t>(es), in_row);
      }
    });
    return OkStatus();
  }
};


class TriluOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 2, 1, 1));
    int64_t upper = 1;
    QRT_ASSIGN_OR_RETURN(upper, c.attr_int("upper", 1));
    if (upper != 0 && upper != 1)
      return InvalidArgument(c.where() + "upper must be 0 or 1, got " + std::to_string(upper));
    upper_ = upper == 1;
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    if (is_quant(x->dtype))
      return Unsupported(c.where() + "input is " + dt_name(x->dtype) +
                         " (quantized: its zero is the zero point; only float, integer and bool "
                         "inputs are implemented)");
    if (x->shape.size() < 2)
      return InvalidArgument(c.where() + "input must have rank >= 2, got shape " + shape_str(x->shape));
    if (c.inputs.size() > 1 && c.inputs[1]) {
      const ValueInfo* k = c.inputs[1];
      if (k->dtype != DType::kS64 || k->numel() != 1)
        return InvalidArgument(c.where() + "k (input 1) must be an s64 scalar, got " + dt_name(k->dtype) +
                               " " + shape_str(k->shape));
    }
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = x->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    const size_t es = elem_size(x.dtype);
    const int64_t rows = x.shape[x.shape.size() - 2], cols = x.shape.back();
    // Beyond +-(rows + cols) every k keeps all or nothing; clamped so that i + k cannot overflow.
    const int64_t k = std::clamp<int64_t>(c.has_in(1) ? tensor_ints(c.in(1))[0] : 0, -rows - cols, rows + cols);
    const size_t mats = rows * cols == 0 ? 0 : x.numel() / static_cast<size_t>(rows * cols);
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    const size_t row_bytes = static_cast<size_t>(cols) * es;
    for (size_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        // Kept columns: j - i >= k (upper) or j - i <= k (lower), clamped to [0, cols].
        const int64_t lo = upper_ ? std::min(std::max<int64_t>(i + k, 0), cols) : 0;
        const int64_t hi = upper_ ? cols : std::min(std::max<int64_t>(i + k + 1, 0), cols);
        const size_t off = (m * static_cast<size_t>(rows) + static_cast<size_t>(i)) * row_bytes;
        const size_t b = static_cast<size_t>(lo) * es, e = static_cast<size_t>(std::max(hi, lo)) * es;
        if (out != in) std::memcpy(out + off + b, in + off + b, e - b);
        std::memset(out + off, 0, b);
        std::memset(out + off + e, 0, row_bytes - e);
      }
    }
    return OkStatus();
  }

 private:
  bool upper_ = true;
};

struct PadPlan {
  // Per output dim: the input index each output index reads, -1 for the constant.
  std::vector<std::vector<int64_t>> src;
};

class PadOp : public Op {
 public:
  enum class Mode { kConstant, kReflect, kEdge, kWrap };
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 4, 1, 1));
    QRT_ASSIGN_OR_RETURN(std::string m, c.attr_string("mode", "constant"));
    if (m == "constant") mode_ = Mode::kConstant;
    else if (m == "reflect") mode_ = Mode::kReflect;
    else if (m == "edge") mode_ = Mode::kEdge;
    else if (m == "wrap") mode_ = Mode::kWrap;
    else return InvalidArgument(c.where() + "mode must be constant, reflect, edge or wrap, got \"" + m + "\"");
    has_attr_pads_ = c.node.attr("pads") != nullptr;
    QRT_ASSIGN_OR_RETURN(attr_pads_, c.attr_ints("pads", {}));
    QRT_ASSIGN_OR_RETURN(attr_value_, c.attr_float("value", 0.f));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "data has undefined dtype");
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    std::vector<int64_t> pads = attr_pads_;
    const bool pads_input = c.inputs.size() > 1 && c.inputs[1];
    if (pads_input == has_attr_pads_)
      return InvalidArgument(c.where() + "pads must be given once, as input 1 or (opset < 11) as an attribute");
    if (pads_input) QRT_RETURN_IF_ERROR(read_ints(c.where(), "pads (input 1)", c.inputs[1], &pads));
    if (c.inputs.size() > 2 && c.inputs[2]) {
      if (c.inputs[2]->dtype != x->dtype)
        return InvalidArgument(c.where() + "constant_value dtype " + dt_name(c.inputs[2]->dtype) +
                               " differs from data's " + dt_name(x->dtype));
      if (c.inputs[2]->numel() != 1)
        return InvalidArgument(c.where() + "constant_value must be a scalar, got shape " +
                               shape_str(c.inputs[2]->shape));
    } else if (has_attr_pads_ && attr_value_ != 0.f && x->dtype != DType::kF32) {
      return Unsupported(c.where() + "a non-zero 'value' attribute on " + dt_name(x->dtype) + " data");
    }
    std::vector<int64_t> axes;
    if (c.inputs.size() > 3 && c.inputs[3]) {
      QRT_RETURN_IF_ERROR(read_ints(c.where(), "axes (input 3)", c.inputs[3], &axes));
    } else {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    if (pads.size() != 2 * axes.size())
      return InvalidArgument(c.where() + "pads " + shape_str(pads) + " must have 2 x " +
                             std::to_string(axes.size()) + " entries (begins, then ends)");
    std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a;
      QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axes[i], rank, &a));
      if (seen[static_cast<size_t>(a)])
        return InvalidArgument(c.where() + "axis " + std::to_string(axes[i]) + " appears twice");
      seen[static_cast<size_t>(a)] = true;
      begin[static_cast<size_t>(a)] = pads[i];
      end[static_cast<size_t>(a)] = pads[i + axes.size()];
    }
    auto plan = std::make_shared<PadPlan>();
    Shape out;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t n = x->shape[static_cast<size_t>(d)], b = begin[static_cast<size_t>(d)],
                    e = end[static_cast<size_t>(d)];
      const int64_t o = n + b + e;
      if (o < 0 || std::abs(b) > (int64_t(1) << 40) || std::abs(e) > (int64_t(1) << 40))
        return InvalidArgument(c.where() + "pads " + shape_str(pads) + " leave axis " + std::to_string(d) +
                               " of size " + std::to_string(n) + " with a negative size");
      const bool grows = b > 0 || e > 0;
      if (grows && mode_ != Mode::kConstant && n == 0)
        return InvalidArgument(c.where() + "mode " + mode_name() + " cannot pad the empty axis " + std::to_string(d));
      if (mode_ == Mode::kReflect && (b >= n || e >= n) && grows)
        return InvalidArgument(c.where() + "reflect pads of axis " + std::to_string(d) + " (" + std::to_string(b) +
                               ", " + std::to_string(e) + ") must be smaller than its size " + std::to_string(n));
      std::vector<int64_t> m(static_cast<size_t>(o));
      for (int64_t i = 0; i < o; ++i) {
        int64_t j = i - b;
        if (j < 0 || j >= n) {
          switch (mode_) {
            case Mode::kConstant: j = -1; break;
            case Mode::kEdge: j = j < 0 ? 0 : n - 1; break;
            case Mode::kReflect: j = j < 0 ? -j : 2 * (n - 1) - j; break;
            case Mode::kWrap: j = ((j % n) + n) % n; break;
          }
        }
        m[static_cast<size_t>(i)] = j;
      }
      plan->src.push_back(std::move(m));
      out.push_back(o);
    }
    // A quantized tensor's padding would have to be its zero point, not the raw constant.
    if (x->quant && !x->quant->empty())
      return Unsupported(c.where() + "padding a quantized tensor (the converter keeps Pad in float)");
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    c.state = plan;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const PadPlan& p = *static_cast<const PadPlan*>(c.state);
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    const size_t es = elem_size(x.dtype), n = y.numel();
    if (n == 0) return OkStatus();
    alignas(8) uint8_t fill[8] = {};
    if (c.has_in(2)) {
      std::memcpy(fill, c.in(2).data, es);
    } else if (attr_value_ != 0.f) {  // opset < 11 'value' (f32 data only, checked at plan time)
      std::memcpy(fill, &attr_value_, 4);
    }
    const auto* src = static_cast<const uint8_t*>(x.data);
    auto* dst = static_cast<uint8_t*>(y.data);
    const Shape& os = y.shape;
    if (os.empty()) {
      std::memcpy(dst, src, es);
      return OkStatus();
    }
    const std::vector<int64_t> xs = strides_of(x.shape);
    const size_t r = os.size(), inner = static_cast<size_t>(os.back());
    const std::vector<int64_t>& last = p.src.back();
    parallel_range(c.pool, n / inner, 16, [&](size_t b, size_t e) {
      for (size_t row = b; row < e; ++row) {
        int64_t off = 0;
        size_t q = row;
        for (size_t d = r - 1; d-- > 0;) {
          const int64_t j = p.src[d][q % static_cast<size_t>(os[d])];
          q /= static_cast<size_t>(os[d]);
          if (j < 0 || off < 0) { off = -1; continue; }
          off += j * xs[d];
        }
        uint8_t* o = dst + row * inner * es;
        for (size_t i = 0; i < inner; ++i) {
          const int64_t j = last[i];
          std::memcpy(o + i * es, off < 0 || j < 0 ? fill : src + static_cast<size_t>(off + j * xs[r - 1]) * es, es);
        }
      }
    });
    return OkStatus();
  }

 private:
  const char* mode_name() const {
    return mode_ == Mode::kReflect ? "reflect" : mode_ == Mode::kEdge ? "edge" : mode_ == Mode::kWrap ? "wrap" : "constant";
  }
  Mode mode_ = Mode::kConstant;
  bool has_attr_pads_ = false;
  std::vector<int64_t> attr_pads_;
  float attr_value_ = 0.f;
};

}  // namespace

void register_generate_ops(OpRegistry& r) {
  r.add("Shape", make_factory<ShapeOp>());
  r.add("Size", make_factory<SizeOp>());
  r.add("Pad", make_factory<PadOp>());
  r.add("Range", make_factory<RangeOp>());
  r.add("ConstantOfShape", make_factory<ConstantOfShapeOp>());
  r.add("Expand", make_factory<ExpandOp>());
  r.add("Tile", make_factory<TileOp>());
  r.add("Trilu", make_factory<TriluOp>());
}

}  // namespace qrt::rt::ops
