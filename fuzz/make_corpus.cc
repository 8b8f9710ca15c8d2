// Writes seed .qmodel files for fuzz_load into a directory: every section, dtype, attribute type
// and quantization kind (the test sample model), an empty model, and small runnable graphs for
// the runtime (f32 and int8 Dense, Conv2d, pooling, elementwise, shape ops).
//   qrt_fuzz_make_corpus <out_dir>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "format/format_test_util.h"
#include "format/model_def.h"
#include "format/weight_layout.h"

using namespace qrt::format;

namespace {

struct Builder {
  std::vector<std::vector<uint8_t>> blobs;
  ModelDef m;
  Builder() { blobs.reserve(256); }

  int tensor(const std::string& name, DType dt, std::vector<int64_t> shape) {
    TensorDef t;
    t.name = name;
    t.dtype = dt;
    t.shape = std::move(shape);
    m.tensors.push_back(std::move(t));
    return static_cast<int>(m.tensors.size() - 1);
  }
  int input(const std::string& name, DType dt, std::vector<int64_t> shape) {
    int i = tensor(name, dt, std::move(shape));
    m.inputs.push_back(i);
    return i;
  }
  template <typename T>
  int constant(const std::string& name, DType dt, std::vector<int64_t> shape, std::vector<T> v) {
    int i = tensor(name, dt, std::move(shape));
    blobs.emplace_back(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(blobs.back().data(), v.data(), blobs.back().size());
    m.tensors[i].is_constant = true;
    m.tensors[i].data = blobs.back().data();
    m.tensors[i].nbytes = blobs.back().size();
    return i;
  }
  NodeDef& node(const std::string& op, std::vector<int32_t> in, std::vector<int32_t> out) {
    NodeDef n;
    n.op_type = op;
    n.name = op + "_" + std::to_string(m.nodes.size());
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    m.nodes.push_back(std::move(n));
    return m.nodes.back();
  }
  // Stores s8 constant t in the c4/nr packed layout (format 1.1).
  void pack(int t, uint32_t nr) {
    TensorDef& td = m.tensors[t];
    uint64_t N = 0, K = 0, bytes = 0;
    qrt::format::c4_matrix_dims(td.shape, &N, &K);
    qrt::format::c4_packed_bytes(N, K, nr, &bytes);
    blobs.emplace_back(bytes);
    qrt::format::pack_c4(N, K, nr, reinterpret_cast<const int8_t*>(td.data), blobs.back().data());
    td.data = blobs.back().data();
    td.nbytes = bytes;
    td.layout = qrt::format::WeightLayout::kC4;
    td.layout_nr = nr;
  }
  void quant(int t, int axis, std::vector<float> s, std::vector<int32_t> z) {
    m.tensors[t].quant.axis = axis;
    m.tensors[t].quant.scales = std::move(s);
    m.tensors[t].quant.zero_points = std::move(z);
  }
};

AttrDef ai(const std::string& n, int64_t v) { AttrDef a; a.name = n; a.type = AttrType::kInt; a.i = v; return a; }
AttrDef af(const std::string& n, float v) { AttrDef a; a.name = n; a.type = AttrType::kFloat; a.f = v; return a; }
AttrDef as(const std::string& n, const std::string& v) { AttrDef a; a.name = n; a.type = AttrType::kString; a.s = v; return a; }
AttrDef ais(const std::string& n, std::vector<int64_t> v) { AttrDef a; a.name = n; a.type = AttrType::kInts; a.ints = std::move(v); return a; }

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * (static_cast<float>(i % 7) - 3.f);
  return v;
}

bool save(const std::string& dir, const std::string& name, const ModelDef& m) {
  std::vector<uint8_t> f;
  qrt::Status st = write_model(m, &f);
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), st.to_string().c_str());
    return false;
  }
  const std::string path = dir + "/" + name + ".qmodel";
  std::FILE* fp = std::fopen(path.c_str(), "wb");
  if (!fp) return false;
  std::fwrite(f.data(), 1, f.size(), fp);
  std::fclose(fp);
  std::printf("%s (%zu bytes)\n", path.c_str(), f.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out_dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  ok &= save(dir, "sample_all_types", qrt_format_test::make_sample_model().def);
  ok &= save(dir, "empty", ModelDef());
  {
    Builder b;  // f32 Dense + Relu, dynamic batch
    int x = b.input("x", DType::kF32, {-1, 8});
    b.m.tensors[x].dim_names = {"batch", ""};
    int w = b.constant("w", DType::kF32, {4, 8}, ramp(32, 0.1f));
    int bias = b.constant("b", DType::kF32, {4}, ramp(4, 0.5f));
    int y = b.tensor("y", DType::kF32, {-1, 4});
    b.node("Dense", {x, w, bias}, {y}).attrs = {as("activation", "relu")};
    int z = b.tensor("z", DType::kF32, {-1, 4});
    b.node("Softmax", {y}, {z}).attrs = {ai("axis", -1)};
    b.m.outputs = {z};
    b.m.metadata = {{"producer", "make_corpus"}};
    ok &= save(dir, "dense_f32", b.m);
  }
  {
    Builder b;  // static int8: Quantize -> Dense(u8, s8, s32) -> Dequantize
    int x = b.input("x", DType::kF32, {-1, 8});
    int xq = b.tensor("xq", DType::kU8, {-1, 8});
    b.quant(xq, -1, {0.05f}, {128});
    std::vector<int8_t> wv(32);
    for (size_t i = 0; i < wv.size(); ++i) wv[i] = static_cast<int8_t>(static_cast<int>(i * 13 % 255) - 127);
    int w = b.constant("w", DType::kS8, {4, 8}, wv);
    b.quant(w, 0, {0.01f, 0.02f, 0.03f, 0.04f}, {0, 0, 0, 0});
    int bias = b.constant<int32_t>("b", DType::kS32, {4}, {10, -20, 30, -40});
    b.quant(bias, 0, {0.0005f, 0.001f, 0.0015f, 0.002f}, {0, 0, 0, 0});
    int y = b.tensor("y", DType::kU8, {-1, 4});
    b.quant(y, -1, {0.1f}, {10});
    int out = b.tensor("out", DType::kF32, {-1, 4});
    b.node("QuantizeLinear", {x}, {xq});
    b.node("Dense", {xq, w, bias}, {y}).attrs = {as("activation", "relu6")};
    b.node("DequantizeLinear", {y}, {out});
    b.m.outputs = {out};
    ok &= save(dir, "dense_int8", b.m);
    b.pack(w, 32);  // format 1.1: the same weights stored packed (in place on AMX / AVX-512)
    ok &= save(dir, "dense_int8_c4_32", b.m);
  }
  {
    Builder b;  // dynamic int8 Dense and weight-only
    int x = b.input("x", DType::kF32, {2, 8});
    std::vector<int8_t> wv(24, 3);
    int w = b.constant("w", DType::kS8, {3, 8}, wv);
    b.quant(w, 0, {0.1f, 0.2f, 0.3f}, {0, 0, 0});
    int y = b.tensor("y", DType::kF32, {2, 3});
    int y2 = b.tensor("y2", DType::kF32, {2, 3});
    b.node("Dense", {x, w, -1}, {y});
    b.node("Dense", {x, w, -1}, {y2}).attrs = {ai("weight_only", 1)};
    b.m.outputs = {y, y2};
    ok &= save(dir, "dense_dynamic", b.m);
    b.pack(w, 16);  // packed, and also read by the weight-only Dense (which needs it plain)
    ok &= save(dir, "dense_dynamic_c4_16", b.m);
  }
  {
    Builder b;  // f32 Conv2d NHWC + pools
    int x = b.input("x", DType::kF32, {1, 6, 6, 3});
    int w = b.constant("w", DType::kF32, {4, 3, 3, 3}, ramp(108, 0.05f));
    int bias = b.constant("b", DType::kF32, {4}, ramp(4, 0.1f));
    int y = b.tensor("y", DType::kF32, {1, 6, 6, 4});
    b.node("Conv2d", {x, w, bias}, {y}).attrs = {ais("strides", {1, 1}), ais("pads", {1, 1, 1, 1}),
                                                 ais("dilations", {1, 1}), ai("group", 1),
                                                 as("activation", "clip"), af("clip_min", -1.f),
                                                 af("clip_max", 2.f)};
    int p = b.tensor("p", DType::kF32, {1, 3, 3, 4});
    b.node("MaxPool2d", {y}, {p}).attrs = {ais("kernel", {2, 2}), ais("strides", {2, 2}),
                                           ais("pads", {0, 0, 0, 0})};
    int a = b.tensor("a", DType::kF32, {1, 3, 3, 4});
    b.node("AvgPool2d", {y}, {a}).attrs = {ais("kernel", {3, 3}), ais("strides", {2, 2}),
                                           ais("pads", {1, 1, 1, 1}), ai("count_include_pad", 0)};
    int g = b.tensor("g", DType::kF32, {1, 1, 1, 4});
    b.node("GlobalAvgPool2d", {p}, {g});
    int s = b.tensor("s", DType::kF32, {1, 3, 3, 4});
    b.node("Add", {a, g}, {s});
    b.m.outputs = {s};
    ok &= save(dir, "conv_pool_f32", b.m);
  }
  {
    Builder b;  // int8 depthwise conv
    int x = b.input("x", DType::kU8, {1, 5, 5, 4});
    b.quant(x, -1, {0.02f}, {100});
    int w = b.constant("w", DType::kS8, {4, 3, 3, 1}, std::vector<int8_t>(36, 5));
    b.quant(w, 0, {0.01f, 0.01f, 0.02f, 0.02f}, {0, 0, 0, 0});
    int y = b.tensor("y", DType::kU8, {1, 5, 5, 4});
    b.quant(y, -1, {0.05f}, {0});
    b.node("Conv2d", {x, w, -1}, {y}).attrs = {ais("pads", {1, 1, 1, 1}), ai("group", 4),
                                               as("activation", "relu")};
    int z = b.tensor("z", DType::kU8, {1, 5, 5, 4});
    b.quant(z, -1, {0.1f}, {3});
    b.node("Add", {y, x}, {z});
    b.m.outputs = {z};
    ok &= save(dir, "conv_dw_int8", b.m);
  }
  {
    Builder b;  // shape ops
    int x = b.input("x", DType::kF32, {-1, 2, 3});
    int shape = b.constant<int64_t>("shape", DType::kS64, {2}, {-1, 6});
    int r = b.tensor("r", DType::kF32, {-1, 6});
    b.node("Reshape", {x, shape}, {r});
    int t = b.tensor("t", DType::kF32, {6, -1});
    b.node("Transpose", {r}, {t}).attrs = {ais("perm", {1, 0})};
    int idx = b.constant<int64_t>("idx", DType::kS64, {2}, {0, 5});
    int gth = b.tensor("gth", DType::kF32, {2, -1});
    b.node("Gather", {t, idx}, {gth}).attrs = {ai("axis", 0)};
    int c = b.tensor("c", DType::kF32, {8, -1});
    b.node("Concat", {t, gth}, {c}).attrs = {ai("axis", 0)};
    int shp = b.tensor("shp", DType::kS64, {2});
    b.node("Shape", {c}, {shp});
    int mask = b.constant<uint8_t>("mask", DType::kBool, {1}, {1});
    int wh = b.tensor("wh", DType::kF32, {8, -1});
    b.node("Where", {mask, c, c}, {wh});
    int ln = b.tensor("ln", DType::kF32, {8, -1});
    int gam = b.constant("gamma", DType::kF32, {1}, std::vector<float>{1.f});
    b.node("LayerNormalization", {wh, gam, -1}, {ln}).attrs = {ai("axis", -1), af("epsilon", 1e-5f)};
    int h = b.tensor("h", DType::kF16, {8, -1});
    b.node("Cast", {ln}, {h}).attrs = {ai("to", 10)};
    b.m.outputs = {h, shp};
    ok &= save(dir, "shape_ops", b.m);
  }
  {
    Builder b;  // embedding lookups: Gather v2 with dequantize = 1 over s8 (per row) and f16 tables
    int ids = b.input("ids", DType::kS64, {-1, 3});
    std::vector<int8_t> q(5 * 4);
    for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
    int tab = b.constant("table_s8", DType::kS8, {5, 4}, q);
    b.quant(tab, 0, {0.5f, 0.25f, 1.f, 2.f, 0.125f}, {0, 0, 1, -2, 0});
    int e = b.tensor("e", DType::kF32, {-1, 3, 4});
    NodeDef& g1 = b.node("Gather", {tab, ids}, {e});
    g1.op_version = 2;
    g1.attrs = {ai("axis", 0), ai("dequantize", 1)};
    std::vector<uint16_t> h(5 * 4);
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(0x3c00 + i * 64);  // 1.0 and up
    int tab16 = b.constant("table_f16", DType::kF16, {5, 4}, h);
    int e2 = b.tensor("e2", DType::kF32, {-1, 3, 4});
    NodeDef& g2 = b.node("Gather", {tab16, ids}, {e2});
    g2.op_version = 2;
    g2.attrs = {ai("axis", 0), ai("dequantize", 1)};
    int y = b.tensor("y", DType::kF32, {-1, 3, 4});
    b.node("Add", {e, e2}, {y});
    b.m.outputs = {y};
    ok &= save(dir, "gather_dequantize", b.m);
  }
  return ok ? 0 : 1;
}
