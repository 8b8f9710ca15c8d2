#include "runtime/op.h"

#include <sstream>

namespace qrt::rt {

size_t shape_numel(const Shape& s) {
  size_t n = 1;
  for (int64_t d : s) n *= static_cast<size_t>(d);
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

static std::string where_of(const format::NodeDef& n) {
  return "node '" + n.name + "' (" + n.op_type + "): ";
}

std::string CreateContext::where() const { return where_of(node); }
std::string InferContext::where() const { return where_of(node); }

const format::TensorDef* CreateContext::input(size_t i) const {
  if (i >= node.inputs.size() || node.inputs[i] < 0) return nullptr;
  return &model.tensors[static_cast<size_t>(node.inputs[i])];
}

const format::TensorDef* CreateContext::output(size_t i) const {
  if (i >= node.outputs.size() || node.outputs[i] < 0) return nullptr;
  return &model.tensors[static_cast<size_t>(node.outputs[i])];
}

static const char* attr_type_name(format::AttrType t) {
  switch (t) {
    case format::AttrType::kInt: return "int";
    case format::AttrType::kFloat: return "float";
    case format::AttrType::kString: return "string";
    case format::AttrType::kInts: return "ints";
    case format::AttrType::kFloats: return "floats";
  }
  return "?";
}

template <typename T>
static Result<T> typed_attr(const CreateContext& c, const std::string& name, format::AttrType want,
                            T def, T (*get)(const format::AttrDef&)) {
  const format::AttrDef* a = c.node.attr(name);
  if (!a) return def;
  if (a->type != want)
    return InvalidArgument(c.where() + "attribute '" + name + "' must be " + attr_type_name(want) +
                           ", got " + attr_type_name(a->type));
  return get(*a);
}

Result<int64_t> CreateContext::attr_int(const std::string& name, int64_t def) const {
  return typed_attr<int64_t>(*this, name, format::AttrType::kInt, def,
                             [](const format::AttrDef& a) { return a.i; });
}
Result<float> CreateContext::attr_float(const std::string& name, float def) const {
  const format::AttrDef* a = node.attr(name);
  if (a && a->type == format::AttrType::kInt) return static_cast<float>(a->i);  // 0 for 0.0
  return typed_attr<float>(*this, name, format::AttrType::kFloat, def,
                           [](const format::AttrDef& a) { return a.f; });
}
Result<std::string> CreateContext::attr_string(const std::string& name,
                                               const std::string& def) const {
  return typed_attr<std::string>(*this, name, format::AttrType::kString, def,
                                 [](const format::AttrDef& a) { return a.s; });
}
Result<std::vector<int64_t>> CreateContext::attr_ints(const std::string& name,
                                                      std::vector<int64_t> def) const {
  return typed_attr<std::vector<int64_t>>(*this, name, format::AttrType::kInts, std::move(def),
                                          [](const format::AttrDef& a) { return a.ints; });
}
Result<std::vector<float>> CreateContext::attr_floats(const std::string& name,
                                                      std::vector<float> def) const {
  const format::AttrDef* a = node.attr(name);
  if (a && a->type == format::AttrType::kInts) {  // an empty or integral list written as ints
    return std::vector<float>(a->ints.begin(), a->ints.end());
  }
  return typed_attr<std::vector<float>>(*this, name, format::AttrType::kFloats, std::move(def),
                                        [](const format::AttrDef& a) { return a.floats; });
}

OpRegistry& OpRegistry::global() {
  static OpRegistry* r = [] {
    auto* reg = new OpRegistry();
    register_quant_ops(*reg);
    register_dense_conv_ops(*reg);
    register_float_ops(*reg);
    register_shape_ops(*reg);
    register_quant_overrides(*reg);
    return reg;
  }();
  return *r;
}

void OpRegistry::add(const std::string& op_type, OpFactory f, std::vector<uint16_t> versions) {
  entries_[op_type] = Entry{std::move(f), std::move(versions)};
}

const OpFactory* OpRegistry::find(const std::string& op_type, uint16_t version) const {
  auto it = entries_.find(op_type);
  if (it == entries_.end()) return nullptr;
  for (uint16_t v : it->second.versions)
    if (v == version) return &it->second.factory;
  return nullptr;
}

bool OpRegistry::has(const std::string& op_type) const { return entries_.count(op_type) != 0; }

std::vector<std::string> OpRegistry::op_types() const {
  std::vector<std::string> v;
  for (const auto& [k, e] : entries_) v.push_back(k);
  return v;
}

}  // namespace qrt::rt
