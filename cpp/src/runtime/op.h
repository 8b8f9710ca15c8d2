// The operator interface. One Op object per graph node per Model:
//   create (load time)  -> reads attributes and constant inputs, validates them, packs weights.
//                          The Op is then immutable and shared by every Session of the Model.
//   infer  (plan time)  -> given input dtypes/shapes (and the values of inputs known at plan time:
//                          constants and folded shape computations), validates them and sets the
//                          outputs' dtype and shape; may request scratch bytes and keep per-plan
//                          state. Everything run() relies on is checked here (TFLM style:
//                          validate in prepare, run blindly).
//   run    (run time)   -> computes outputs from bound buffers. Returns a Status only for errors
//                          that depend on input *values* (an index out of range, NaN where a range
//                          must be chosen), never for anything infer() could have checked.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/model_def.h"
#include "qrt/status.h"
#include "runtime/thread_pool.h"

namespace qrt::rt {

using format::DType;
using Shape = std::vector<int64_t>;

size_t shape_numel(const Shape& s);   // product of dims (1 for a scalar)
std::string shape_str(const Shape& s); // "[1, 3, 224, 224]"

// A value at plan time.
struct ValueInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
  const format::QuantParams* quant = nullptr;  // from the tensor record; never null (may be empty)
  const void* data = nullptr;                  // non-null when the value is known at plan time
  size_t numel() const { return shape_numel(shape); }
};

// A value at run time.
struct Tensor {
  DType dtype = DType::kUndefined;
  Shape shape;
  void* data = nullptr;
  const format::QuantParams* quant = nullptr;  // never null at run time (may be empty)
  size_t numel() const { return shape_numel(shape); }
  template <typename T> T* as() const { return static_cast<T*>(data); }
};

// What create() sees: the node and the model's tensor records (constants carry data).
struct CreateContext {
  const format::NodeDef& node;
  const format::ModelDef& model;
  // One past the last byte of the file image the constants point into (null: unknown). Packed
  // weights are used in place only when the kernel's reads past their end stay inside it.
  const uint8_t* image_end = nullptr;
  // The record of input i, or nullptr when the optional input is absent / i out of range.
  const format::TensorDef* input(size_t i) const;
  const format::TensorDef* output(size_t i) const;
  // Attribute helpers: a missing attribute gives `def`; a present one of the wrong type is an
  // error naming node, op and attribute.
  Result<int64_t> attr_int(const std::string& name, int64_t def) const;
  Result<float> attr_float(const std::string& name, float def) const;
  Result<std::string> attr_string(const std::string& name, const std::string& def) const;
  Result<std::vector<int64_t>> attr_ints(const std::string& name, std::vector<int64_t> def) const;
  Result<std::vector<float>> attr_floats(const std::string& name, std::vector<float> def) const;
  // "node 'name' (Op): " — prefix for error messages.
  std::string where() const;
};

struct InferContext {
  const format::NodeDef& node;
  std::vector<const ValueInfo*> inputs;   // nullptr for an absent optional input
  std::vector<ValueInfo*> outputs;        // set dtype and shape (quant is preset from the record)
  size_t scratch_bytes = 0;               // per-run scratch this op needs (64-byte aligned)
  std::shared_ptr<void> state;            // per-plan state handed to run()
  int threads = 1;                        // the session's pool size (run() sees the same pool)
  std::string where() const;              // "node 'name' (Op): "
};

struct RunContext {
  const format::NodeDef* node = nullptr;
  const Tensor* const* inputs = nullptr;  // nullptr entries for absent optional inputs
  size_t num_inputs = 0;
  Tensor* const* outputs = nullptr;
  size_t num_outputs = 0;
  void* scratch = nullptr;                // scratch_bytes from infer(), 64-byte aligned
  const void* state = nullptr;            // InferContext::state.get()
  ThreadPool* pool = nullptr;             // never null; pool->threads() may be 1
  const Tensor& in(size_t i) const { return *inputs[i]; }
  bool has_in(size_t i) const { return i < num_inputs && inputs[i] != nullptr; }
  Tensor& out(size_t i) const { return *outputs[i]; }
};

class Op {
 public:
  virtual ~Op() = default;
  virtual Status infer(InferContext& ctx) const = 0;
  virtual Status run(const RunContext& ctx) const = 0;
  // May the planner run this op at plan time when all its inputs are known (shape arithmetic)?
  virtual bool foldable() const { return true; }
  // Name of the kernel variant this op uses (for session.kernel_report()); "" if not applicable.
  virtual std::string kernel_name() const { return ""; }
  // Bytes of packed weights this op owns (reported by the memory report).
  virtual size_t packed_bytes() const { return 0; }
  // Bytes of weights this op reads in place from the file image (already packed in the file).
  virtual size_t in_place_bytes() const { return 0; }
};

using OpFactory = std::function<Result<std::unique_ptr<Op>>(const CreateContext&)>;

class OpRegistry {
 public:
  static OpRegistry& global();
  void add(const std::string& op_type, OpFactory f, std::vector<uint16_t> versions = {1});
  // nullptr if the op type is unknown.
  const OpFactory* find(const std::string& op_type, uint16_t version) const;
  bool has(const std::string& op_type) const;
  std::vector<std::string> op_types() const;

 private:
  struct Entry { OpFactory factory; std::vector<uint16_t> versions; };
  std::map<std::string, Entry> entries_;
};

// Each op group registers itself here (called once from OpRegistry::global()).
void register_quant_ops(OpRegistry& r);        // ops/quant_*.cc: QuantizeLinear, DequantizeLinear, ...
void register_dense_conv_ops(OpRegistry& r);   // ops/dense.cc, ops/conv2d.cc, ops/pool2d.cc
void register_float_ops(OpRegistry& r);        // ops/float_*.cc: elementwise, activations, norms, ...
void register_shape_ops(OpRegistry& r);        // ops/shape_*.cc: Reshape, Transpose, Concat, ...
// Called last: wraps Add/Mul so that u8 inputs get the requantizing kernel and other dtypes the
// float group's op (dtype-polymorphic op types, resolved once at load).
void register_quant_overrides(OpRegistry& r);

}  // namespace qrt::rt
