// Slice, Gather and GatherElements, any data dtype.
//   Slice(data, starts, ends, axes?, steps?)  opset 10+ inputs (opset 1 attributes also read);
//       negative starts/ends count from the end, then clamp to the dim (ONNX rules for positive
//       and negative steps); starts/ends/axes/steps must be known at plan time.
//   Gather(data, indices; axis = 0)           s64/s32 indices, negative ones count from the end;
//       an index outside [-n, n) is an InvalidArgument from run() (or from infer() when the
//       indices are known at plan time), never an out-of-bounds read.
//       dequantize = 1 (written by the converter for embedding tables): data is s8/u8 with
//       per-tensor params or params along the gathered axis, or f16/bf16; the output is f32,
//       x = (float)(q - zero_point[row]) * scale[row] (one multiplication, as DequantizeLinear),
//       or the half value widened. Only the gathered rows are ever read, so a 30k-row table in
//       int8 costs a quarter of the file and of the pages that lookups fault in.
//   GatherElements(data, indices; axis = 0)   indices (s64/s32) of data's rank, each dim no
//       larger than data's except along axis; out[i] = data[i with i[axis] = indices[i]];
//       an index outside [-n, n) is an InvalidArgument from run().
#include <algorithm>
#include <limits>
#include <string>

#include "kernels/eltwise_f32.h"
#include "kernels/gemm_f32.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"

namespace qrt::rt::ops {
namespace {

struct SliceState {
  std::vector<int64_t> start, step;  // per input dim (step 1 / start 0 for untouched dims)
};

class SliceOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 1, 5, 1, 1));
    attr_mode_ = c.node.inputs.size() == 1;
    if (attr_mode_) {
      QRT_ASSIGN_OR_RETURN(a_starts_, c.attr_ints("starts", {}));
      QRT_ASSIGN_OR_RETURN(a_ends_, c.attr_ints("ends", {}));
      QRT_ASSIGN_OR_RETURN(a_axes_, c.attr_ints("axes", {}));
    } else if (c.node.inputs.size() < 3 || c.node.inputs[1] < 0 || c.node.inputs[2] < 0) {
      return InvalidArgument(c.where() + "inputs starts and ends are required");
    }
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "input has undefined dtype");
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    std::vector<int64_t> starts = a_starts_, ends = a_ends_, axes = a_axes_, steps;
    if (!attr_mode_) {
      QRT_RETURN_IF_ERROR(read_ints(c.where(), "starts (input 1)", c.inputs[1], &starts));
      QRT_RETURN_IF_ERROR(read_ints(c.where(), "ends (input 2)", c.inputs[2], &ends));
      if (c.inputs.size() > 3 && c.inputs[3])
        QRT_RETURN_IF_ERROR(read_ints(c.where(), "axes (input 3)", c.inputs[3], &axes));
      if (c.inputs.size() > 4 && c.inputs[4])
        QRT_RETURN_IF_ERROR(read_ints(c.where(), "steps (input 4)", c.inputs[4], &steps));
    }
    const size_t n = starts.size();
    if (axes.empty())
      for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(n, 1);
    if (ends.size() != n || axes.size() != n || steps.size() != n)
      return InvalidArgument(c.where() + "starts, ends, axes and steps must have equal lengths, got " +
                             std::to_string(n) + ", " + std::to_string(ends.size()) + ", " +
                             std::to_string(axes.size()) + ", " + std::to_string(steps.size()));
    auto st = std::make_shared<SliceState>();
    st->start.assign(rank, 0);
    st->step.assign(rank, 1);
    Shape out = x->shape;
    std::vector<bool> seen(rank, false);
    for (size_t i = 0; i < n; ++i) {
      int64_t a;
      QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axes[i], rank, &a));
      if (seen[a]) return InvalidArgument(c.where() + "axes " + shape_str(axes) + " repeat an axis");
      seen[a] = true;
      const int64_t d = x->shape[a], step = steps[i];
      if (step == 0) return InvalidArgument(c.where() + "steps must not be 0");
      int64_t s = starts[i], e = ends[i];
      if (s < 0) s += d;  // no overflow: d >= 0
      if (e < 0) e += d;
      int64_t len;
      if (step > 0) {
        s = std::min(std::max<int64_t>(s, 0), d);
        e = std::min(std::max<int64_t>(e, 0), d);
        len = e > s ? (e - s - 1) / step + 1 : 0;
      } else {
        const int64_t neg = step == std::numeric_limits<int64_t>::min()
                                ? std::numeric_limits<int64_t>::max()
                                : -step;
        s = std::min(std::max<int64_t>(s, 0), d - 1);
        e = std::min(std::max<int64_t>(e, -1), d - 1);
        len = s > e ? (s - e - 1) / neg + 1 : 0;
      }
      out[a] = len;
      st->start[a] = len > 0 ? s : 0;
      st->step[a] = len > 1 ? step : 1;
    }
    QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = out;
    c.state = st;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const SliceState& st = *static_cast<const SliceState*>(c.state);
    const Tensor& x = c.in(0);
    Tensor& y = c.out(0);
    if (y.numel() == 0) return OkStatus();
    const size_t es = elem_size(x.dtype);
    const Shape& os = y.shape;
    std::vector<int64_t> ist = strides_of(x.shape);
    if (os.empty()) {
      std::memcpy(y.data, x.data, es);
      return OkStatus();
    }
    const size_t r = os.size();
    int64_t base = 0;
    for (size_t i = 0; i < r; ++i) base += st.start[i] * ist[i];
    const int64_t inner = os.back(), istep = st.step.back() * ist.back();
    const size_t rows = y.numel() / static_cast<size_t>(inner);
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(y.data);
    parallel_range(c.pool, rows, std::max<size_t>(1, 16384 / static_cast<size_t>(inner)),
                   [&](size_t b, size_t e) {
      for (size_t row = b; row < e; ++row) {
        int64_t off = base;
        size_t q = row;
        for (size_t i = r - 1; i-- > 0;) {
          off += static_cast<int64_t>(q % static_cast<size_t>(os[i])) * st.step[i] * ist[i];
          q /= static_cast<size_t>(os[i]);
        }
        const char* s = in + off * static_cast<int64_t>(es);
        char* o = out + row * static_cast<size_t>(inner) * es;
        if (istep == 1) {
          std::memcpy(o, s, static_cast<size_t>(inner) * es);
        } else {
          for (int64_t k = 0; k < inner; ++k)
            std::memcpy(o + k * static_cast<int64_t>(es), s + k * istep * static_cast<int64_t>(es), es);
        }
      }
    });
    return OkStatus();
  }

 private:
  bool attr_mode_ = false;
  std::vector<int64_t> a_starts_, a_ends_, a_axes_;
};

class GatherOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 2, 2, 1, 1));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 0));
    int64_t dq;
    QRT_ASSIGN_OR_RETURN(dq, c.attr_int("dequantize", 0));
    if (dq != 0 && dq != 1) return InvalidArgument(c.where() + "attribute dequantize must be 0 or 1");
    if (dq == 1 && c.node.op_version < 2)
      return InvalidArgument(c.where() + "attribute dequantize needs Gather version 2, the node says " +
                             std::to_string(c.node.op_version));
    dequantize_ = dq == 1;
    return OkStatus();
  }

  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "data has undefined dtype");
    if (dequantize_) QRT_RETURN_IF_ERROR(check_dequantize(c));
    QRT_RETURN_IF_ERROR(expect_dtype(c, 1, {DType::kS64, DType::kS32}, /*onnx_forbids=*/true));
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    if (rank == 0) return InvalidArgument(c.where() + "data must have rank >= 1, got a scalar");
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, rank, &a));
    const ValueInfo* idx = c.inputs[1];
    if (idx->data) {  // known now: report a bad index at plan time
      std::vector<int64_t> v(idx->numel());
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = idx->dtype == DType::kS64 ? static_cast<const int64_t*>(idx->data)[i]
                                         : static_cast<const int32_t*>(idx->data)[i];
      for (int64_t k : v)
        if (k < -x->shape[a] || k >= x->shape[a])
          return InvalidArgument(c.where() + "index " + std::to_string(k) +
                                 " is out of range for axis " + std::to_string(a) + " of size " +
                                 std::to_string(x->shape[a]));
    }
    Shape out(x->shape.begin(), x->shape.begin() + a);
    out.insert(out.end(), idx->shape.begin(), idx->shape.end());
    out.insert(out.end(), x->shape.begin() + a + 1, x->shape.end());
    if (!dequantize_) QRT_RETURN_IF_ERROR(check_passthrough_quant(c, 0, 0));
    c.outputs[0]->dtype = dequantize_ ? DType::kF32 : x->dtype;
    c.outputs[0]->shape = out;
    return OkStatus();
  }

  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const Tensor& it = c.in(1);
    const size_t es = elem_size(x.dtype);
    const size_t a = static_cast<size_t>(axis_ < 0 ? axis_ + static_cast<int64_t>(x.shape.size()) : axis_);
    size_t outer = 1, inner = es;
    for (size_t i = 0; i < a; ++i) outer *= static_cast<size_t>(x.shape[i]);
    for (size_t i = a + 1; i < x.shape.size(); ++i) inner *= static_cast<size_t>(x.shape[i]);
    const int64_t n = x.shape[a];
    std::vector<int64_t> idx = tensor_ints(it);
    for (int64_t& k : idx) {
      if (k < -n || k >= n)
        return InvalidArgument("index " + std::to_string(k) +
                               " is out of range for axis " + std::to_string(a) + " of size " +
                               std::to_string(n));
      if (k < 0) k += n;
    }
    const char* in = static_cast<const char*>(x.data);
    char* out = static_cast<char*>(c.out(0).data);
    const size_t ni = idx.size();
    if (outer * ni == 0 || inner == 0) return OkStatus();  // empty output (and no grain / 0)
    if (dequantize_) {
      run_dequantize(c, x, idx, outer, inner / es, static_cast<size_t>(n), a);
      return OkStatus();
    }
    parallel_range(c.pool, outer * ni, std::max<size_t>(1, 16384 / inner), [&](size_t b, size_t e) {
      for (size_t t = b; t < e; ++t) {
        size_t o = t / ni, j = t % ni;
        std::memcpy(out + t * inner, in + (o * static_cast<size_t>(n) + idx[j]) * inner, inner);
      }
    });
    return OkStatus();
  }

 private:
  Status check_dequantize(const InferContext& c) const {
    const ValueInfo* x = c.inputs[0];
    if (x->dtype == DType::kF16 || x->dtype == DType::kBF16) return OkStatus();
    if (!is_quant(x->dtype))
      return InvalidArgument(c.where() + "dequantize = 1 needs s8, u8, f16 or bf16 data, got " +
                             dt_name(x->dtype));
    const format::QuantParams* q = x->quant;
    if (!q || q->empty())
      return InvalidArgument(c.where() + "dequantize = 1 with " + dt_name(x->dtype) +
                             " data that has no quantization parameters");
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    const int64_t a = axis_ < 0 ? axis_ + rank : axis_;
    if (q->axis != -1 && q->axis != a)
      return InvalidArgument(c.where() + "dequantize = 1: data is quantized along axis " +
                             std::to_string(q->axis) + ", but only per-tensor parameters or "
                             "parameters along the gathered axis " + std::to_string(a) +
                             " are supported");
    return OkStatus();
  }

  // Rows of `inner` elements; row (o, j) of the output is row (o, idx[j]) of the data.
  static void run_dequantize(const RunContext& c, const Tensor& x, const std::vector<int64_t>& idx,
                             size_t outer, size_t inner, size_t n, size_t a) {
    float* out = c.out(0).as<float>();
    const size_t ni = idx.size();
    const format::QuantParams* q = x.quant;
    const bool per_row = q && !q->empty() && q->axis == static_cast<int32_t>(a);
    const auto widen_f16 = kernels::select_eltwise_f32().widen_f16;
    parallel_range(c.pool, outer * ni, std::max<size_t>(1, 16384 / (inner * 4 + 1)), [&](size_t b, size_t e) {
      for (size_t t = b; t < e; ++t) {
        const size_t o = t / ni;
        const size_t row = static_cast<size_t>(idx[t % ni]);
        const size_t src = (o * n + row) * inner;
        float* y = out + t * inner;
        switch (x.dtype) {
          case DType::kF16:
            widen_f16(static_cast<const uint16_t*>(x.data) + src, y, inner);
            break;
          case DType::kBF16: {
            const uint16_t* h = static_cast<const uint16_t*>(x.data) + src;
            for (size_t i = 0; i < inner; ++i) y[i] = kernels::bf16_to_f32(h[i]);
            break;
          }
          default: {
            const size_t p = per_row ? row : 0;
            const float s = q->scales[p];
            const int32_t zp = q->zero_points[p];
            if (x.dtype == DType::kS8) {
              const int8_t* v = static_cast<const int8_t*>(x.data) + src;
              for (size_t i = 0; i < inner; ++i) y[i] = static_cast<float>(v[i] - zp) * s;
            } else {
              const uint8_t* v = static_cast<const uint8_t*>(x.data) + src;
              for (size_t i = 0; i < inner; ++i) y[i] = static_cast<float>(v[i] - zp) * s;
            }
          }
        }
      }
    });
  }

  int64_t axis_ = 0;
  bool dequantize_ = false;
};

class GatherElementsOp : public Op {
 public:
  Status init(const CreateContext& c) {
    QRT_RETURN_IF_ERROR(check_arity(c, 2, 2, 1, 1));
    QRT_ASSIGN_OR_RETURN(axis_, c.attr_int("axis", 0));
    return OkStatus();
  }
  Status infer(InferContext& c) const override {
    const ValueInfo* x = c.inputs[0];
    const ValueInfo* idx = c.inputs[1];
    if (elem_size(x->dtype) == 0) return InvalidArgument(c.where() + "data has undefined dtype");
    QRT_RETURN_IF_ERROR(expect_dtype(c, 1, {DType::kS64, DType::kS32}, /*onnx_forbids=*/true));
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    if (rank == 0) return InvalidArgument(c.where() + "data must have rank >= 1, got a scalar");
    if (static_cast<int64_t>(idx->shape.size()) != rank)
      return InvalidArgument(c.where() + "indices " + shape_str(idx->shape) + " must have the rank of data " +
                             shape_str(x->shape));
    int64_t a;
    QRT_RETURN_IF_ERROR(norm_axis(c.where(), "axis", axis_, rank, &a));
    for (int64_t d = 0; d < rank; ++d)
      if (d != a && idx->shape[d] > x->shape[d])
        return InvalidArgument(c.where() + "indices " + shape_str(idx->shape) + " exceed data " +
                               shape_str(x->shape) + " in dimension " + std::to_string(d));
    c.outputs[0]->dtype = x->dtype;
    c.outputs[0]->shape = idx->shape;
    return OkStatus();
  }
  Status run(const RunContext& c) const override {
    const Tensor& x = c.in(0);
    const Tensor& it = c.in(1);
    Tensor& y = c.out(0);
    const size_t n = y.numel();
    if (n == 0) return OkStatus();
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    const int64_t a = axis_ < 0 ? axis_ + rank : axis_;
    const int64_t dim = x.shape[static_cast<size_t>(a)];
    const std::vector<int64_t> xs = strides_of(x.shape);
    const size_t es = elem_size(x.dtype);
    const auto* src = static_cast<const uint8_t*>(x.data);
    auto* dst = static_cast<uint8_t*>(y.data);
    std::vector<int64_t> pos(static_cast<size_t>(rank), 0);  // index of element i in y's shape
    for (size_t i = 0; i < n; ++i) {
      int64_t k = it.dtype == DType::kS64 ? it.as<int64_t>()[i] : it.as<int32_t>()[i];
      if (k < -dim || k >= dim)
        return InvalidArgument("GatherElements: index " + std::to_string(k) + " is out of range for axis " +
                               std::to_string(a) + " of size " + std::to_string(dim));
      if (k < 0) k += dim;
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d) off += (d == a ? k : pos[static_cast<size_t>(d)]) * xs[static_cast<size_t>(d)];
      std::memcpy(dst + i * es, src + static_cast<size_t>(off) * es, es);
      for (int64_t d = rank; d-- > 0;) {  // next position
        if (++pos[static_cast<size_t>(d)] < y.shape[static_cast<size_t>(d)]) break;
        pos[static_cast<size_t>(d)] = 0;
      }
    }
    return OkStatus();
  }

 private:
  int64_t axis_ = 0;
};

}  // namespace

void register_index_ops(OpRegistry& r) {
  r.add("Slice", make_factory<SliceOp>());
  r.add("Gather", make_factory<GatherOp>(), {1, 2});  // 2: the dequantize attribute
  r.add("GatherElements", make_factory<GatherElementsOp>());
}

}  // namespace qrt::rt::ops
