// Builds a small model in memory, serialises it with the real writer, loads it with the real
// loader and runs it through a Session: op tests exercise the same path as users' models.
//
//   ModelBuilder b;
//   int x = b.input("x", DType::kF32, {2, 3});
//   int w = b.constant_f32("w", {3}, {1, 2, 3});
//   int y = b.value("y", DType::kF32);
//   b.node("Mul", {x, w}, {y});
//   b.output(y);
//   auto out = b.run({{"x", TensorView::of(xdata, {2, 3})}});   // Result<std::vector<qrt::Tensor>>
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "format/model_def.h"
#include "qrt/qrt.h"

namespace qrt_test {

using qrt::format::AttrDef;
using qrt::format::AttrType;
using qrt::format::DType;

class ModelBuilder {
 public:
  int input(const std::string& name, DType dt, std::vector<int64_t> shape,
            qrt::format::QuantParams q = {}) {
    int i = add(name, dt, std::move(shape), std::move(q));
    m_.inputs.push_back(i);
    return i;
  }
  // An intermediate or output value; its shape is inferred by the runtime.
  int value(const std::string& name, DType dt, qrt::format::QuantParams q = {},
            std::vector<int64_t> shape = {}) {
    return add(name, dt, std::move(shape), std::move(q));
  }
  template <typename T>
  int constant(const std::string& name, DType dt, std::vector<int64_t> shape,
               const std::vector<T>& data, qrt::format::QuantParams q = {}) {
    auto bytes = std::make_shared<std::vector<uint8_t>>(data.size() * sizeof(T));
    if (!data.empty()) std::memcpy(bytes->data(), data.data(), bytes->size());
    keep_.push_back(bytes);
    int i = add(name, dt, std::move(shape), std::move(q));
    m_.tensors[i].is_constant = true;
    m_.tensors[i].data = bytes->data();
    m_.tensors[i].nbytes = bytes->size();
    return i;
  }
  int constant_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& d) {
    return constant<float>(name, DType::kF32, std::move(shape), d);
  }
  int constant_i64(const std::string& name, std::vector<int64_t> shape, const std::vector<int64_t>& d) {
    return constant<int64_t>(name, DType::kS64, std::move(shape), d);
  }
  qrt::format::NodeDef& node(const std::string& op, std::vector<int32_t> in, std::vector<int32_t> out,
                             const std::string& name = "") {
    qrt::format::NodeDef n;
    n.op_type = op;
    n.name = name.empty() ? op + "_" + std::to_string(m_.nodes.size()) : name;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    m_.nodes.push_back(std::move(n));
    return m_.nodes.back();
  }
  void output(int i) { m_.outputs.push_back(i); }

  static AttrDef attr_int(const std::string& n, int64_t v) { AttrDef a; a.name = n; a.type = AttrType::kInt; a.i = v; return a; }
  static AttrDef attr_float(const std::string& n, float v) { AttrDef a; a.name = n; a.type = AttrType::kFloat; a.f = v; return a; }
  static AttrDef attr_str(const std::string& n, std::string v) { AttrDef a; a.name = n; a.type = AttrType::kString; a.s = std::move(v); return a; }
  static AttrDef attr_ints(const std::string& n, std::vector<int64_t> v) { AttrDef a; a.name = n; a.type = AttrType::kInts; a.ints = std::move(v); return a; }
  static AttrDef attr_floats(const std::string& n, std::vector<float> v) { AttrDef a; a.name = n; a.type = AttrType::kFloats; a.floats = std::move(v); return a; }

  qrt::format::ModelDef& def() { return m_; }

  qrt::Result<std::shared_ptr<const qrt::Model>> load(const qrt::LoadOptions& lo = {}) {
    std::vector<uint8_t> bytes;
    qrt::Status s = qrt::format::write_model(m_, &bytes);
    if (!s.ok()) return s;
    return qrt::Model::load_from_buffer(bytes.data(), bytes.size(), lo);
  }

  qrt::Result<std::vector<qrt::Tensor>> run(
      const std::vector<std::pair<std::string, qrt::TensorView>>& inputs, int threads = 1,
      const qrt::LoadOptions& lo = {}) {
    auto model = load(lo);
    if (!model.ok()) return model.status();
    qrt::SessionOptions o;
    o.threads = threads;
    auto sess = qrt::Session::create(model.value(), o);
    if (!sess.ok()) return sess.status();
    return sess.value()->run(inputs);
  }

 private:
  int add(const std::string& name, DType dt, std::vector<int64_t> shape, qrt::format::QuantParams q) {
    qrt::format::TensorDef t;
    t.name = name;
    t.dtype = dt;
    t.shape = std::move(shape);
    t.quant = std::move(q);
    m_.tensors.push_back(std::move(t));
    return static_cast<int>(m_.tensors.size()) - 1;
  }
  qrt::format::ModelDef m_;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> keep_;
};

inline qrt::format::QuantParams per_tensor(float scale, int32_t zp) {
  qrt::format::QuantParams q;
  q.scales = {scale};
  q.zero_points = {zp};
  return q;
}

}  // namespace qrt_test
