// Concat(axis) and Split(axis = 0; split input or attribute, or num_outputs), any dtype.
// Concat of u8/s8 inputs whose quantization parameters differ from the output record's are
// requantized (round half to even, saturate) through a 256-entry table per input; equal
// parameters copy bytes. Split outputs keep the input's parameters.
#include <cmath>

#include "ops/op_util.h"
#include "ops/shape_ops.h"

namespace qrt::rt::ops {
namespace {

size_t prod(const Shape& s, size_t b, size_t e) {
  size_t n = 1;
  for (size_t i = b; i < e; ++i) n *= static_cast<size_t>(s[i]);
  return n;
}

bool per_tensor(const format::QuantParams* q) {
  return q && q->scales.size() == 1 && q->zero_points.size() == 1 && q->scales[0] > 0.f &&
         std::isfinite(q->scales[0]);
}

class ConcatOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 1 << 16, 1, 1));
    if (!c.node.attr("axis")) return InvalidArgument(c.where() + "attribute 'axis' is required");
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 0));
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x0 = c.inputs[0];
    if (!x0 || elem_size(x0->dtype) == 0)
      return InvalidArgument(c.where() + "input 0 is absent or has undefined dtype");
    const int64_t rank = static_cast<int64_t>(x0->shape.size());
    if (rank == 0) return InvalidArgument(c.where() + "inputs must have rank >= 1, got a scalar");
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, rank, &a));
    Shape out = x0->shape;
    out[a] = 0;
    bool requant = false;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const ValueInfo* x = c.inputs[i];
      if (!x) return InvalidArgument(c.where() + "input " + std::to_string(i) + " is absent");
      if (x->dtype != x0->dtype)
        return InvalidArgument(c.where() + "input " + std::to_string(i) + " dtype " +
                               dt_name(x->dtype) + " differs from input 0's " + dt_name(x0->dtype));
      if (static_cast<int64_t>(x->shape.size()) != rank)
        return InvalidArgument(c.where() + "input " + std::to_string(i) + " shape " +
                               shape_str(x->shape) + " has a different rank from input 0's " +
                               shape_str(x0->shape));
      for (int64_t d = 0; d < rank; ++d)
        if (d != a && x->shape[d] != x0->shape[d])
          return InvalidArgument(c.where() + "input " + std::to_string(i) + " shape " +
                                 shape_str(x->shape) + " differs from input 0's " +
                                 shape_str(x0->shape) + " outside axis " + std::to_string(a));
      out[a] += x->shape[a];
      if (is_quant(x->dtype) && !same_quant(x->quant, c.outputs[0]->quant) &&
          c.outputs[0]->quant && !c.outputs[0]->quant->empty())
        requant = true;
    }
    if (requant) {
      for (size_t i = 0; i <= c.inputs.size(); ++i) {
        const format::QuantParams* q = i < c.inputs.size() ? c.inputs[i]->quant : c.outputs[0]->quant;
        if (!per_tensor(q))
          return InvalidArgument(c.where() + (i < c.inputs.size() ? "input " + std::to_string(i)
                                                                   : std::string("output")) +
                                 " must have per-tensor quantization parameters to requantize " +
                                 "a quantized Concat whose inputs' parameters differ");
      }
    }
    c.outputs[0]->dtype = x0->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    Tensor& y = c.out(0);
    const size_t es = elem_size(y.dtype);
    const Shape& s = y.shape;
    const size_t a = static_cast<size_t>(axis_ < 0 ? axis_ + static_cast<int64_t>(s.size()) : axis_);
    const size_t outer = prod(s, 0, a), inner = prod(s, a + 1, s.size()) * es;
    const size_t out_row = static_cast<size_t>(s[a]) * inner;
    // Per input: byte offset inside an output row, bytes per row, requantization table.
    std::vector<size_t> off(c.num_inputs), len(c.num_inputs);
    std::vector<std::vector<uint8_t>> tables(c.num_inputs);
    size_t acc = 0;
    for (size_t i = 0; i < c.num_inputs; ++i) {
      const Tensor& x = c.in(i);
      off[i] = acc;
      len[i] = static_cast<size_t>(x.shape[a]) * inner;
      acc += len[i];
      if (is_quant(x.dtype) && y.quant && !y.quant->empty() && !same_quant(x.quant, y.quant))
        tables[i] = requant_table(*x.quant, *y.quant, x.dtype == DType::kU8);
    }
    char* out = static_cast<char*>(y.data);
    parallel_range(c.pool, outer, std::max<size_t>(1, 65536 / std::max<size_t>(out_row, 1)),
                   [&](size_t b, size_t e) {
      for (size_t o = b; o < e; ++o) {
        for (size_t i = 0; i < c.num_inputs; ++i) {
          const uint8_t* src = static_cast<const uint8_t*>(c.in(i).data) + o * len[i];
          uint8_t* dst = reinterpret_cast<uint8_t*>(out + o * out_row + off[i]);
          if (tables[i].empty()) {
            std::memcpy(dst, src, len[i]);
          } else {
            const uint8_t* t = tables[i].data();
            for (size_t k = 0; k < len[i]; ++k) dst[k] = t[src[k]];
          }
        }
      }
    });
    return OkStatus();
  }

 private:
  static std::vector<uint8_t> requant_table(const format::QuantParams& in,
                                            const format::QuantParams& out, bool u8) {
    std::vector<uint8_t> t(256);
    const float lo = u8 ? 0.f : -128.f, hi = u8 ? 255.f : 127.f;
    for (int v = 0; v < 256; ++v) {
      int raw = u8 ? v : static_cast<int>(static_cast<int8_t>(v));
      float real = in.scales[0] * static_cast<float>(raw - in.zero_points[0]);
      float q = std::nearbyint(real / out.scales[0]) + static_cast<float>(out.zero_points[0]);
      q = std::min(hi, std::max(lo, q));
      t[v] = u8 ? static_cast<uint8_t>(q) : static_cast<uint8_t>(static_cast<int8_t>(q));
    }
    return t;
  }
  int64_t axis_ = 0;
};

class SplitOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 2, 1, 1 << 16));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 0));
    has_split_attr_ = c.node.attr("split") != nullptr;
    QRT_ASSIGN_OR_RETURN(split_attr_, c.attr_ints("split", {}));
    QRT_ASSIGN_OR_RETURN(num_outputs_, c.attr_int("num_outputs", 0));
    if (num_outputs_ != 0 && num_outputs_ != static_cast<int64_t>(c.node.outputs.size()))
      return InvalidArgument(c.where() + "num_outputs " + std::to_string(num_outputs_) +
                             " != number of outputs " + std::to_string(c.node.outputs.size()));
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, rank, &a));
    const int64_t dim = x->shape[a];
    const int64_t n = static_cast<int64_t>(c.outputs.size());
    std::vector<int64_t> split = split_attr_;
    bool given = has_split_attr_;
    if (c.inputs.size() > 1 && c.inputs[1]) {
      QRT_RETURN_IF_ERROR(read_ints(c.where(), "split (input 1)", c.inputs[1], &split));
      given = true;
    }
    if (given) {
      int64_t sum = 0;
      for (int64_t v : split) {
        if (v < 0) return InvalidArgument(c.where() + "split " + shape_str(split) + " has a negative size");
        sum += v;
      }
      if (static_cast<int64_t>(split.size()) != n || sum != dim)
        return InvalidArgument(c.where() + "split " + shape_str(split) + " must have " +
                               std::to_string(n) + " entries summing to dim " +
                               std::to_string(a) + " of " + shape_str(x->shape));
    } else if (dim % n == 0) {
      split.assign(n, dim / n);
    } else if (num_outputs_ > 0) {  // opset 18: ceil-sized chunks, the last one smaller
      int64_t chunk = (dim + n - 1) / n;
      if (chunk * (n - 1) >= dim)
        return InvalidArgument(c.where() + "cannot split dim " + std::to_string(dim) + " into " +
                               std::to_string(n) + " non-empty chunks");
      split.assign(n, chunk);
      split.back() = dim - chunk * (n - 1);
    } else {
      return InvalidArgument(c.where() + "dim " + std::to_string(a) + " of " +
                             shape_str(x->shape) + " is not divisible into " + std::to_string(n) +
                             " equal outputs");
    }
    c.state = std::make_shared<std::vector<int64_t>>(split);
    for (int64_t i = 0; i < n; ++i) {
      if (!c.outputs[i]) continue;
      Shape s = x->shape;
      s[a] = split[i];
      c.outputs[i]->dtype = x->dtype;
      c.outputs[i]->shape = s;
      QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, i));
    }
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const size_t es = elem_size(x.dtype);
    const Shape& s = x.shape;
    const size_t a = static_cast<size_t>(axis_ < 0 ? axis_ + static_cast<int64_t>(s.size()) : axis_);
    const size_t outer = prod(s, 0, a), inner = prod(s, a + 1, s.size()) * es;
    const size_t in_row = static_cast<size_t>(s[a]) * inner;
    const auto& split = *static_cast<const std::vector<int64_t>*>(c.state);
    size_t off = 0;
    for (size_t i = 0; i < c.num_outputs; ++i) {
      const size_t len = static_cast<size_t>(split[i]) * inner;  // absent outputs still advance
      if (c.outputs[i]) {
        char* dst = static_cast<char*>(c.out(i).data);
        const char* src = static_cast<const char*>(x.data) + off;
        for (size_t o = 0; o < outer; ++o) std::memcpy(dst + o * len, src + o * in_row, len);
      }
      off += len;
    }
    return OkStatus();
  }

 private:
  int64_t axis_ = 0, num_outputs_ = 0;
  bool has_split_attr_ = false;
  std::vector<int64_t> split_attr_;
};

}  // namespace

void register_concat_ops(OpRegistry& r) {
  r.add("Concat", make_factory<ConcatOp>());
  r.add("Split", make_factory<SplitOp>());
}

}  // namespace qrt::rt::ops
