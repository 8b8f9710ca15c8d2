// Helpers shared by the ONNX-semantics op groups (ops/float_*.cc, ops/shape_*.cc): dtype names and
// sizes, axis normalisation, reading plan-time integer inputs, input/output count checks, the
// create() factory, and chunked parallel loops. Internal to cpp/src/ops.
// Error messages from create()/infer() start with ctx.where() ("node 'name' (Op): "); run() errors
// do not, because the session prefixes the node to every run() failure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/op.h"

namespace qrt::rt::ops {

// Bytes per element and short name of a dtype (kept here so the ops do not depend on the format
// library's tables; values follow docs/FORMAT.md).
size_t elem_size(DType t);
const char* dt_name(DType t);

// A floating dtype qrt computes in, an integer dtype, a quantized activation dtype.
inline bool is_int(DType t) { return t == DType::kS32 || t == DType::kS64; }
inline bool is_quant(DType t) { return t == DType::kU8 || t == DType::kS8; }

// Normalises `axis` from [-rank, rank) (or [-rank, rank] with allow_end, Flatten's range) to
// [0, rank) / [0, rank]; negative values count from rank. `what` names the attribute in errors.
Status norm_axis(const std::string& where, const char* what, int64_t axis, int64_t rank,
                 int64_t* out, bool allow_end = false);

// Reads an integer tensor (s64 or s32) whose value must be known at plan time: a constant or a
// folded shape computation. Unsupported (naming node and input) when the value is not known.
Status read_ints(const std::string& where, const char* what, const ValueInfo* v,
                 std::vector<int64_t>* out);
// The same at run time from a bound tensor (no plan-time requirement).
std::vector<int64_t> tensor_ints(const Tensor& t);
// A scalar (or one-element) float/int tensor value as double.
double tensor_scalar(const Tensor& t);

// Checks counts of node inputs/outputs (create time): min..max inputs, required inputs present.
Status check_arity(const CreateContext& c, size_t min_in, size_t max_in, size_t min_out,
                   size_t max_out);
// Infer-time dtype check: input i must have one of `allowed`. Otherwise Unsupported (a dtype
// ONNX allows but qrt does not implement for this op), or InvalidArgument with `onnx_forbids`
// (a dtype the operator's definition excludes, e.g. a non-bool Where condition).
Status expect_dtype(const InferContext& c, size_t i, std::initializer_list<DType> allowed,
                    bool onnx_forbids = false);
// Two quantization records describe the same mapping (both empty counts as equal).
bool same_quant(const format::QuantParams* a, const format::QuantParams* b);
// u8/s8 pass-through ops: the output record must carry the input's parameters (the converter
// guarantees it; a file that breaks it would silently change values, so it is refused).
Status check_passthrough_quant(const InferContext& c, size_t in, size_t out);

// ONNX TensorProto data type code -> qrt dtype (kUndefined for codes qrt lacks).
DType onnx_dtype(int64_t code);

// Calls f(T{}) with T the element type of an f32 / s64 / s32 tensor (float for any other dtype:
// the caller's infer() has already restricted it to those three).
template <typename F>
Status with_f32_s64_s32(DType t, F&& f) {
  switch (t) {
    case DType::kS64: return f(int64_t{});
    case DType::kS32: return f(int32_t{});
    default: return f(float{});
  }
}

// Factory for an Op class with `Status init(const CreateContext&)`.
template <typename OpT, typename... Args>
OpFactory make_factory(Args... args) {
  return [args...](const CreateContext& c) -> Result<std::unique_ptr<Op>> {
    auto op = std::make_unique<OpT>(args...);
    Status st = op->init(c);
    if (!st.ok()) return st;
    return std::unique_ptr<Op>(std::move(op));
  };
}

// Splits [0, n) into contiguous chunks of at least `grain` items and runs f(begin, end) on the
// pool; inline when one chunk suffices.
template <typename F>
void parallel_range(ThreadPool* pool, size_t n, size_t grain, const F& f) {
  if (n == 0) return;
  size_t threads = pool ? static_cast<size_t>(pool->threads()) : 1;
  size_t max_tasks = (n + grain - 1) / std::max<size_t>(grain, 1);
  size_t tasks = std::min(max_tasks, threads * 4);
  if (tasks <= 1 || !pool) {
    f(size_t{0}, n);
    return;
  }
  size_t per = (n + tasks - 1) / tasks;
  tasks = (n + per - 1) / per;
  pool->parallel_for(tasks, [&](size_t t) {
    size_t b = t * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  });
}

// Row-major strides (in elements) of a shape.
std::vector<int64_t> strides_of(const Shape& s);

}  // namespace qrt::rt::ops
