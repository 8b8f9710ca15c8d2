// Runs one ONNX-semantics op directly through its Op interface (create -> infer -> run), without a
// Model or Session: builds a one-node ModelDef with a record per input/output, plan-time values
// for inputs marked known(), sentinel-filled output buffers and a ThreadPool of the requested size.
//   auto r = run_op("Add", {f32({2, 3}, {...}), f32({3}, {...})});
//   QRT_EXPECT(r.ok()) << r.message();  r.out[0].as<float>() ...
// The registry holds only the float and shape groups, so other groups' overrides do not interfere.
#pragma once

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "format/model_def.h"
#include "harness.h"
#include "runtime/op.h"
#include "runtime/thread_pool.h"

namespace qrt_test::ops {

using qrt::Status;
using qrt::StatusCode;
using qrt::format::AttrDef;
using qrt::format::AttrType;
using qrt::format::DType;
using qrt::format::QuantParams;
using Shape = std::vector<int64_t>;

inline size_t dsize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kS32: return 4;
    case DType::kF16: case DType::kBF16: return 2;
    case DType::kS64: return 8;
    case DType::kUndefined: return 0;
    default: return 1;
  }
}

inline size_t numel(const Shape& s) {
  size_t n = 1;
  for (int64_t d : s) n *= static_cast<size_t>(d);
  return n;
}

// A tensor value: dtype, shape, bytes; `known` makes it a constant (value visible at plan time).
struct Val {
  DType dtype = DType::kUndefined;
  Shape shape;
  std::vector<uint8_t> bytes;
  bool known = false;
  bool absent = false;
  QuantParams quant;
  template <typename T>
  std::vector<T> as() const {
    std::vector<T> v(bytes.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
    return v;
  }
};

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType v = DType::kF32; };
template <> struct DTypeOf<int64_t> { static constexpr DType v = DType::kS64; };
template <> struct DTypeOf<int32_t> { static constexpr DType v = DType::kS32; };
template <> struct DTypeOf<int8_t> { static constexpr DType v = DType::kS8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType v = DType::kU8; };

template <typename T>
Val make_val(DType t, Shape shape, const std::vector<T>& v) {
  Val x;
  x.dtype = t;
  x.shape = std::move(shape);
  x.bytes.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(x.bytes.data(), v.data(), x.bytes.size());
  return x;
}
inline Val f32(Shape s, const std::vector<float>& v) { return make_val(DType::kF32, std::move(s), v); }
inline Val i64(Shape s, const std::vector<int64_t>& v) { return make_val(DType::kS64, std::move(s), v); }
inline Val i32(Shape s, const std::vector<int32_t>& v) { return make_val(DType::kS32, std::move(s), v); }
inline Val u8(Shape s, const std::vector<uint8_t>& v) { return make_val(DType::kU8, std::move(s), v); }
inline Val boolv(Shape s, const std::vector<uint8_t>& v) { return make_val(DType::kBool, std::move(s), v); }
inline Val known(Val v) { v.known = true; return v; }
inline Val ints(const std::vector<int64_t>& v) { return known(i64({static_cast<int64_t>(v.size())}, v)); }
inline Val none() { Val v; v.absent = true; return v; }
inline Val with_quant(Val v, float scale, int32_t zp) {
  v.quant.scales = {scale};
  v.quant.zero_points = {zp};
  return v;
}

inline Val rand_f32(Shape s, uint32_t seed, float lo = -2.f, float hi = 2.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(numel(s));
  for (float& x : v) x = d(g);
  return f32(std::move(s), v);
}

inline AttrDef attr_i(const std::string& n, int64_t v) { AttrDef a; a.name = n; a.type = AttrType::kInt; a.i = v; return a; }
inline AttrDef attr_f(const std::string& n, float v) { AttrDef a; a.name = n; a.type = AttrType::kFloat; a.f = v; return a; }
inline AttrDef attr_s(const std::string& n, const std::string& v) { AttrDef a; a.name = n; a.type = AttrType::kString; a.s = v; return a; }
inline AttrDef attr_is(const std::string& n, std::vector<int64_t> v) { AttrDef a; a.name = n; a.type = AttrType::kInts; a.ints = std::move(v); return a; }

struct OpRun {
  Status status;
  std::string stage;         // "create", "infer", "run" (where it stopped) or "done"
  std::vector<Val> out;      // dtype/shape/bytes of each output after run
  std::vector<Val> planned;  // plan-time values an op published in infer() (bytes empty if none)
  bool ok() const { return status.ok(); }
  std::string message() const { return stage + ": " + status.to_string(); }
  StatusCode code() const { return status.code(); }
};

struct OpOptions {
  size_t num_outputs = 1;
  int threads = 1;
  std::vector<QuantParams> out_quant;  // per output record
  std::vector<DType> out_dtype;        // per output record (kUndefined: op decides)
};

inline qrt::rt::OpRegistry& ops_registry() {
  static qrt::rt::OpRegistry* r = [] {
    auto* reg = new qrt::rt::OpRegistry();
    qrt::rt::register_float_ops(*reg);
    qrt::rt::register_shape_ops(*reg);
    return reg;
  }();
  return *r;
}

inline OpRun run_op(const std::string& op_type, const std::vector<Val>& inputs,
                    const std::vector<AttrDef>& attrs = {}, const OpOptions& opt = {}) {
  using namespace qrt::rt;
  OpRun res;
  qrt::format::ModelDef model;
  qrt::format::NodeDef node;
  node.op_type = op_type;
  node.name = "n0";
  node.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].absent) {
      node.inputs.push_back(qrt::format::kNoTensor);
      continue;
    }
    qrt::format::TensorDef t;
    t.name = "in" + std::to_string(i);
    t.dtype = inputs[i].dtype;
    t.shape = inputs[i].shape;
    t.is_constant = inputs[i].known;
    t.data = inputs[i].known ? inputs[i].bytes.data() : nullptr;
    t.nbytes = inputs[i].known ? inputs[i].bytes.size() : 0;
    t.quant = inputs[i].quant;
    node.inputs.push_back(static_cast<int32_t>(model.tensors.size()));
    model.tensors.push_back(t);
  }
  for (size_t i = 0; i < opt.num_outputs; ++i) {
    qrt::format::TensorDef t;
    t.name = "out" + std::to_string(i);
    if (i < opt.out_quant.size()) t.quant = opt.out_quant[i];
    if (i < opt.out_dtype.size()) t.dtype = opt.out_dtype[i];
    node.outputs.push_back(static_cast<int32_t>(model.tensors.size()));
    model.tensors.push_back(t);
  }
  model.nodes.push_back(node);
  const qrt::format::NodeDef& n = model.nodes[0];

  const OpFactory* f = ops_registry().find(op_type, 1);
  res.stage = "create";
  if (!f) {
    res.status = qrt::Unsupported("no op " + op_type);
    return res;
  }
  CreateContext cc{n, model};
  auto created = (*f)(cc);
  if (!created.ok()) {
    res.status = created.status();
    return res;
  }
  std::unique_ptr<Op> op = std::move(created).value();

  static const QuantParams kEmpty;
  // Plan-time values (one spare byte so that an empty constant still has a non-null pointer).
  std::vector<std::vector<uint8_t>> known_buf(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    known_buf[i] = inputs[i].bytes;
    known_buf[i].push_back(0);
  }
  std::vector<ValueInfo> in_vi(inputs.size()), out_vi(opt.num_outputs);
  InferContext ic{n, {}, {}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].absent) {
      ic.inputs.push_back(nullptr);
      continue;
    }
    const qrt::format::TensorDef& t = model.tensors[n.inputs[i]];
    in_vi[i].dtype = t.dtype;
    in_vi[i].shape = t.shape;
    in_vi[i].quant = &t.quant;
    in_vi[i].data = inputs[i].known ? known_buf[i].data() : nullptr;
    ic.inputs.push_back(&in_vi[i]);
  }
  for (size_t i = 0; i < opt.num_outputs; ++i) {
    out_vi[i].quant = &model.tensors[n.outputs[i]].quant;
    ic.outputs.push_back(&out_vi[i]);
  }
  res.stage = "infer";
  res.status = op->infer(ic);
  if (!res.ok()) return res;

  // Bind buffers: inputs are copies (runs must not write them), outputs sentinel-filled.
  std::vector<std::vector<uint8_t>> in_buf(inputs.size());
  std::vector<Tensor> in_t(inputs.size()), out_t(opt.num_outputs);
  std::vector<const Tensor*> in_p(inputs.size(), nullptr);
  std::vector<Tensor*> out_p(opt.num_outputs, nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].absent) continue;
    in_buf[i] = inputs[i].bytes;
    in_buf[i].resize(in_buf[i].size() + 1);  // non-null pointer even when empty
    in_t[i].dtype = in_vi[i].dtype;
    in_t[i].shape = in_vi[i].shape;
    in_t[i].data = in_buf[i].data();
    in_t[i].quant = in_vi[i].quant ? in_vi[i].quant : &kEmpty;
    in_p[i] = &in_t[i];
  }
  res.out.resize(opt.num_outputs);
  res.planned.resize(opt.num_outputs);
  for (size_t i = 0; i < opt.num_outputs; ++i) {
    Val& o = res.out[i];
    o.dtype = out_vi[i].dtype;
    o.shape = out_vi[i].shape;
    o.bytes.assign(numel(o.shape) * dsize(o.dtype) + 1, 0xCD);
    if (out_vi[i].data) {
      res.planned[i] = o;
      res.planned[i].bytes.resize(o.bytes.size() - 1);
      std::memcpy(res.planned[i].bytes.data(), out_vi[i].data, o.bytes.size() - 1);
    }
    out_t[i].dtype = o.dtype;
    out_t[i].shape = o.shape;
    out_t[i].data = o.bytes.data();
    out_t[i].quant = out_vi[i].quant;
    out_p[i] = &out_t[i];
  }
  std::vector<uint8_t> scratch(ic.scratch_bytes + 64);
  ThreadPool pool(opt.threads);
  RunContext rc;
  rc.node = &n;
  rc.inputs = in_p.data();
  rc.num_inputs = in_p.size();
  rc.outputs = out_p.data();
  rc.num_outputs = out_p.size();
  rc.scratch = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
  rc.state = ic.state.get();
  rc.pool = &pool;
  res.stage = "run";
  res.status = op->run(rc);
  if (!res.ok()) return res;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].absent && !inputs[i].bytes.empty() &&
        std::memcmp(in_buf[i].data(), inputs[i].bytes.data(), inputs[i].bytes.size()) != 0)
      res.status = qrt::Internal("run() modified input " + std::to_string(i));
  for (Val& o : res.out) {
    if (o.bytes.back() != 0xCD) res.status = qrt::Internal("run() wrote past the end of an output");
    o.bytes.pop_back();
  }
  res.stage = "done";
  return res;
}

// Elementwise closeness: |a - b| <= atol + rtol * |b|; NaN equals NaN.
inline bool close(float a, float b, float atol, float rtol) {
  if (a != a || b != b) return a != a && b != b;
  if (a == b) return true;
  return std::fabs(a - b) <= atol + rtol * std::fabs(b);
}

#define QRT_EXPECT_CLOSE_VEC(got, want, atol, rtol)                                            \
  do {                                                                                          \
    const auto& g_ = (got);                                                                     \
    const auto& w_ = (want);                                                                    \
    QRT_EXPECT_EQ(g_.size(), w_.size());                                                        \
    int bad_ = 0;                                                                               \
    for (size_t i_ = 0; i_ < g_.size() && i_ < w_.size() && bad_ < 5; ++i_)                    \
      if (!::qrt_test::ops::close(g_[i_], w_[i_], atol, rtol)) {                               \
        ++bad_;                                                                                 \
        QRT_EXPECT(false) << "index" << i_ << "got" << g_[i_] << "want" << w_[i_];              \
      }                                                                                         \
  } while (0)

}  // namespace qrt_test::ops

// Ends the test (with the op's message) unless the run succeeded.
#define QRT_ASSERT_OK(r)                                                              \
  do {                                                                                \
    if (!(r).ok()) {                                                                  \
      ::qrt_test::record_failure(__FILE__, __LINE__, "op failed: " + (r).message()); \
      return;                                                                         \
    }                                                                                 \
  } while (0)
