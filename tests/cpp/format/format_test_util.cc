#include "format/format_test_util.h"

#include <cstring>

namespace qrt_format_test {

using namespace qrt::format;

namespace {

template <typename T>
const uint8_t* add_blob(SampleModel* s, const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  s->blobs.push_back(std::move(b));
  return s->blobs.back().data();
}

int32_t add_tensor(SampleModel* s, const std::string& name, DType dt, std::vector<int64_t> shape) {
  TensorDef t;
  t.name = name;
  t.dtype = dt;
  t.shape = std::move(shape);
  s->def.tensors.push_back(std::move(t));
  return static_cast<int32_t>(s->def.tensors.size() - 1);
}

template <typename T>
int32_t add_const(SampleModel* s, const std::string& name, DType dt, std::vector<int64_t> shape,
                  const std::vector<T>& values) {
  int32_t i = add_tensor(s, name, dt, std::move(shape));
  TensorDef& t = s->def.tensors[i];
  t.is_constant = true;
  t.nbytes = values.size() * sizeof(T);
  t.data = add_blob(s, values);
  return i;
}

AttrDef attr_int(const std::string& n, int64_t v) { AttrDef a; a.name = n; a.type = AttrType::kInt; a.i = v; return a; }
AttrDef attr_float(const std::string& n, float v) { AttrDef a; a.name = n; a.type = AttrType::kFloat; a.f = v; return a; }
AttrDef attr_str(const std::string& n, const std::string& v) { AttrDef a; a.name = n; a.type = AttrType::kString; a.s = v; return a; }
AttrDef attr_ints(const std::string& n, std::vector<int64_t> v) { AttrDef a; a.name = n; a.type = AttrType::kInts; a.ints = std::move(v); return a; }
AttrDef attr_floats(const std::string& n, std::vector<float> v) { AttrDef a; a.name = n; a.type = AttrType::kFloats; a.floats = std::move(v); return a; }

}  // namespace

SampleModel make_sample_model() {
  SampleModel s;
  s.blobs.reserve(32);  // pointers into blobs must stay valid
  ModelDef& m = s.def;
  const int32_t x = add_tensor(&s, "x", DType::kF32, {-1, 4});
  m.tensors[x].dim_names = {"batch", ""};
  const int32_t w_f32 = add_const<float>(&s, "w_f32", DType::kF32, {3, 4},
                                         {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5f});
  const int32_t w_f16 = add_const<uint16_t>(&s, "w_f16", DType::kF16, {2, 2}, {0x3C00, 0x4000, 0xBC00, 0});
  const int32_t w_bf16 = add_const<uint16_t>(&s, "w_bf16", DType::kBF16, {2}, {0x3F80, 0xC000});
  const int32_t w_s8 = add_const<int8_t>(&s, "w_s8", DType::kS8, {3, 4},
                                         {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -127});
  m.tensors[w_s8].quant.axis = 0;
  m.tensors[w_s8].quant.scales = {0.5f, 0.25f, 0.125f};
  m.tensors[w_s8].quant.zero_points = {0, 0, 0};
  const int32_t x_u8 = add_tensor(&s, "x_u8", DType::kU8, {-1, 4});
  m.tensors[x_u8].dim_names = {"batch", "features"};
  m.tensors[x_u8].quant.scales = {0.05f};
  m.tensors[x_u8].quant.zero_points = {128};
  const int32_t bias = add_const<int32_t>(&s, "bias_s32", DType::kS32, {3}, {100, -200, 300});
  m.tensors[bias].quant.axis = 0;
  m.tensors[bias].quant.scales = {0.025f, 0.0125f, 0.00625f};
  m.tensors[bias].quant.zero_points = {0, 0, 0};
  const int32_t idx = add_const<int64_t>(&s, "idx_s64", DType::kS64, {2}, {-1, int64_t{1} << 40});
  const int32_t mask = add_const<uint8_t>(&s, "mask", DType::kBool, {4}, {1, 0, 1, 1});
  const int32_t empty = add_const<float>(&s, "empty", DType::kF32, {0, 3}, {});
  const int32_t scalar = add_const<uint8_t>(&s, "zp_scalar", DType::kU8, {}, {7});
  m.tensors[scalar].quant.scales = {1.0f};
  m.tensors[scalar].quant.zero_points = {255};
  const int32_t y = add_tensor(&s, "y", DType::kU8, {-1, 3});
  m.tensors[y].quant.scales = {0.1f};
  m.tensors[y].quant.zero_points = {3};
  const int32_t out = add_tensor(&s, "out", DType::kF32, {-1, 3});
  m.tensors[out].dim_names = {"batch", ""};
  const int32_t side = add_tensor(&s, "side", DType::kF32, {3, 4});

  NodeDef q;
  q.op_type = "QuantizeLinear";
  q.name = "quant_x";
  q.inputs = {x};
  q.outputs = {x_u8};
  m.nodes.push_back(q);
  NodeDef d;
  d.op_type = "Dense";
  d.op_version = 2;
  d.name = "fc1";
  d.inputs = {x_u8, w_s8, bias};
  d.outputs = {y};
  d.attrs = {attr_str("activation", "relu"), attr_int("weight_only", 0), attr_int("big", -(int64_t{1} << 50)),
             attr_float("clip_min", -0.5f), attr_ints("pads", {1, 2, -3, int64_t{1} << 33}),
             attr_floats("coeffs", {1.5f, -2.0f, 3.25f}), attr_ints("empty_ints", {}),
             attr_floats("one_float", {0.1f})};
  m.nodes.push_back(d);
  NodeDef dq;
  dq.op_type = "DequantizeLinear";
  dq.name = "";
  dq.inputs = {y, kNoTensor};
  dq.outputs = {out};
  m.nodes.push_back(dq);
  NodeDef add;
  add.op_type = "Add";
  add.name = "uses_every_dtype";
  add.inputs = {w_f32, w_f16, w_bf16, idx, mask, empty, scalar};
  add.outputs = {side};
  m.nodes.push_back(add);

  m.inputs = {x};
  m.outputs = {out, side};
  m.metadata = {{"producer", "qrt-tests"}, {"note", "\xc3\xbcnicode \xe2\x9c\x93"}, {"empty", ""}};
  return s;
}

std::vector<uint8_t> sample_file() {
  SampleModel s = make_sample_model();
  std::vector<uint8_t> f;
  qrt::Status st = write_model(s.def, &f);
  if (!st.ok()) f.clear();
  return f;
}

std::string diff_models(const ModelDef& a, const ModelDef& b) {
  if (a.tensors.size() != b.tensors.size()) return "tensor count";
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorDef &x = a.tensors[i], &y = b.tensors[i];
    const std::string w = "tensor " + std::to_string(i) + " ";
    if (x.name != y.name) return w + "name";
    if (x.dtype != y.dtype) return w + "dtype";
    if (x.shape != y.shape) return w + "shape";
    if (x.dim_names != y.dim_names) return w + "dim_names";
    if (x.is_constant != y.is_constant) return w + "is_constant";
    if (x.nbytes != y.nbytes) return w + "nbytes";
    if (x.layout != y.layout || x.layout_nr != y.layout_nr) return w + "layout";
    if (x.nbytes && std::memcmp(x.data, y.data, x.nbytes) != 0) return w + "data";
    if (x.quant.axis != y.quant.axis) return w + "quant.axis";
    if (x.quant.scales != y.quant.scales) return w + "quant.scales";
    if (x.quant.zero_points != y.quant.zero_points) return w + "quant.zero_points";
  }
  if (a.nodes.size() != b.nodes.size()) return "node count";
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const NodeDef &x = a.nodes[i], &y = b.nodes[i];
    const std::string w = "node " + std::to_string(i) + " ";
    if (x.op_type != y.op_type) return w + "op_type";
    if (x.op_version != y.op_version) return w + "op_version";
    if (x.name != y.name) return w + "name";
    if (x.inputs != y.inputs) return w + "inputs";
    if (x.outputs != y.outputs) return w + "outputs";
    if (x.attrs.size() != y.attrs.size()) return w + "attr count";
    for (size_t k = 0; k < x.attrs.size(); ++k) {
      const AttrDef &p = x.attrs[k], &q = y.attrs[k];
      if (p.name != q.name || p.type != q.type) return w + "attr " + p.name;
      switch (p.type) {
        case AttrType::kInt: if (p.i != q.i) return w + "attr int " + p.name; break;
        case AttrType::kFloat: if (std::memcmp(&p.f, &q.f, 4)) return w + "attr float " + p.name; break;
        case AttrType::kString: if (p.s != q.s) return w + "attr string " + p.name; break;
        case AttrType::kInts: if (p.ints != q.ints) return w + "attr ints " + p.name; break;
        case AttrType::kFloats: if (p.floats != q.floats) return w + "attr floats " + p.name; break;
      }
    }
  }
  if (a.inputs != b.inputs) return "graph inputs";
  if (a.outputs != b.outputs) return "graph outputs";
  if (a.metadata != b.metadata) return "metadata";
  return "";
}

}  // namespace qrt_format_test
