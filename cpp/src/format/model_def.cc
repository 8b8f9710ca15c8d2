// DType helpers and the semantic validation shared by the reader and the writer.
#include <algorithm>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>
#include <unordered_map>
#include <vector>

#include "format/model_def.h"
#include "format/weight_layout.h"
#include "qrt/format.h"

namespace qrt::format {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kS8: return "s8";
    case DType::kU8: return "u8";
    case DType::kS32: return "s32";
    case DType::kS64: return "s64";
    case DType::kBool: return "bool";
  }
  return "invalid";
}

bool parse_dtype(const std::string& s, DType* out) {
  for (int i = 1; i < kNumDTypes; ++i) {
    if (s == dtype_name(static_cast<DType>(i))) {
      *out = static_cast<DType>(i);
      return true;
    }
  }
  return false;
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF16: return 2;
    case DType::kBF16: return 2;
    case DType::kS8: return 1;
    case DType::kU8: return 1;
    case DType::kS32: return 4;
    case DType::kS64: return 8;
    case DType::kBool: return 1;
    default: return 0;
  }
}

const char* section_kind_name(uint32_t kind) {
  switch (kind) {
    case static_cast<uint32_t>(SectionKind::kStrings): return "strings";
    case static_cast<uint32_t>(SectionKind::kTensors): return "tensors";
    case static_cast<uint32_t>(SectionKind::kNodes): return "nodes";
    case static_cast<uint32_t>(SectionKind::kGraph): return "graph";
    case static_cast<uint32_t>(SectionKind::kMetadata): return "metadata";
    case static_cast<uint32_t>(SectionKind::kWeights): return "weights";
  }
  return "unknown";
}

bool shape_numel(const std::vector<int64_t>& shape, uint64_t* numel) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    const uint64_t u = static_cast<uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<uint64_t>::max() / u) return false;
    n *= u;
  }
  *numel = n;
  return true;
}

namespace {

std::string tensor_ref(const ModelDef& m, int64_t i) {
  if (i >= 0 && static_cast<uint64_t>(i) < m.tensors.size() && !m.tensors[i].name.empty())
    return "tensor '" + m.tensors[i].name + "'";
  return "tensor #" + std::to_string(i);
}

std::string node_ref(const NodeDef& n, size_t i) {
  return "node #" + std::to_string(i) + " '" + n.name + "' (" + n.op_type + ")";
}

bool quantizable(DType t) { return t == DType::kU8 || t == DType::kS8 || t == DType::kS32; }

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

Status validate_quant(const ModelDef& m, size_t ti) {
  const TensorDef& t = m.tensors[ti];
  const QuantParams& q = t.quant;
  auto where = [&] { return tensor_ref(m, ti) + ": quantization: "; };  // built only for an error
  if (q.scales.size() != q.zero_points.size())
    return FormatError(where() + std::to_string(q.scales.size()) + " scales but " +
                       std::to_string(q.zero_points.size()) + " zero points");
  if (q.scales.empty()) {
    if (q.axis != -1)
      return FormatError(where() + "axis " + std::to_string(q.axis) + " without scales");
    return OkStatus();
  }
  if (!quantizable(t.dtype))
    return FormatError(where() + "parameters on a " + dtype_name(t.dtype) +
                       " tensor (only u8, s8 and s32 tensors are quantized)");
  if (q.axis == -1) {
    if (q.scales.size() != 1)
      return FormatError(where() + "per-tensor (axis -1) needs 1 scale, got " +
                         std::to_string(q.scales.size()));
  } else {
    if (q.axis < -1 || static_cast<size_t>(q.axis) >= t.shape.size())
      return FormatError(where() + "axis " + std::to_string(q.axis) + " out of range for rank " +
                         std::to_string(t.shape.size()));
    const int64_t d = t.shape[q.axis];
    if (d < 0)
      return FormatError(where() + "per-axis quantization on dynamic dimension " +
                         std::to_string(q.axis));
    if (static_cast<uint64_t>(d) != q.scales.size())
      return FormatError(where() + "per-axis scale count " + std::to_string(q.scales.size()) +
                         " != dimension " + std::to_string(q.axis) + " size " + std::to_string(d));
  }
  int64_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  if (t.dtype == DType::kU8) lo = 0, hi = 255;
  if (t.dtype == DType::kS8) lo = -128, hi = 127;
  // A branch-free pass (vectorized by the compiler) accepts the usual all-valid case; the loop
  // below only runs to name the first bad entry. Normal positive floats are exactly the bit
  // patterns 0x00800000..0x7F7FFFFF.
  bool ok = true;
  for (size_t i = 0; i < q.scales.size(); ++i) {
    uint32_t b;
    std::memcpy(&b, &q.scales[i], 4);
    const int64_t z = q.zero_points[i];
    ok &= (b - 0x00800000u < 0x7F000000u) & (z >= lo) & (z <= hi);
  }
  if (ok) return OkStatus();
  for (size_t i = 0; i < q.scales.size(); ++i) {
    const float s = q.scales[i];
    if (!std::isnormal(s) || !(s > 0.f)) {  // rejects NaN, inf, 0, negatives and denormals
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(s));
      return FormatError(where() + "scale[" + std::to_string(i) + "] = " + buf +
                         " (must be finite and > 0, and not denormal)");
    }
    const int64_t z = q.zero_points[i];
    if (z < lo || z > hi)
      return FormatError(where() + "zero_point[" + std::to_string(i) + "] = " + std::to_string(z) +
                         " outside the " + dtype_name(t.dtype) + " range [" + std::to_string(lo) +
                         ", " + std::to_string(hi) + "]");
  }
  return OkStatus();
}

Status validate_tensor(const ModelDef& m, size_t ti) {
  const TensorDef& t = m.tensors[ti];
  auto where = [&] { return tensor_ref(m, ti) + ": "; };  // built only for an error
  if (t.name.empty()) return FormatError(where() + "empty name");
  const int dt = static_cast<int>(t.dtype);
  if (dt <= 0 || dt >= kNumDTypes)
    return FormatError(where() + "invalid dtype " + std::to_string(dt));
  if (t.shape.size() > kMaxRank)
    return FormatError(where() + "rank " + std::to_string(t.shape.size()) + " exceeds the maximum " +
                       std::to_string(kMaxRank));
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (t.shape[d] < -1)
      return FormatError(where() + "dimension " + std::to_string(d) + " is " +
                         std::to_string(t.shape[d]) + " (must be >= 0, or -1 for dynamic)");
  if (!t.dim_names.empty() && t.dim_names.size() != t.shape.size())
    return FormatError(where() + std::to_string(t.dim_names.size()) + " dim names for rank " +
                       std::to_string(t.shape.size()));
  if (t.is_constant) {
    uint64_t numel;
    if (!shape_numel(t.shape, &numel))
      return FormatError(where() + "constant with shape " + shape_str(t.shape) +
                         " (constants need static dims and an element count that fits 64 bits)");
    const uint64_t es = dtype_size(t.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / es)
      return FormatError(where() + "constant byte size overflows 64 bits");
    if (t.layout == WeightLayout::kC4) {
      uint64_t N = 0, K = 0, want = 0;
      if (t.dtype != DType::kS8 || !c4_matrix_dims(t.shape, &N, &K))
        return FormatError(where() + "the c4 layout needs s8 weights of rank >= 2 with no zero "
                           "dimension, got " + dtype_name(t.dtype) + " " + shape_str(t.shape));
      if (!c4_nr_valid(t.layout_nr) || !c4_packed_bytes(N, K, t.layout_nr, &want))
        return FormatError(where() + "c4 layout with nr " + std::to_string(t.layout_nr) +
                           " (8, 16, 32 or 64)");
      if (t.nbytes != want)
        return FormatError(where() + "constant has " + std::to_string(t.nbytes) + " bytes, expected " +
                           std::to_string(want) + " (" + std::to_string(N) + " x " +
                           std::to_string(K) + " s8 in " + layout_name(t.layout, t.layout_nr) + ")");
    } else if (t.layout != WeightLayout::kPlain || t.layout_nr != 0) {
      return FormatError(where() + "unknown weight layout " +
                         std::to_string(static_cast<uint32_t>(t.layout)) + " / " +
                         std::to_string(t.layout_nr));
    } else if (t.nbytes != numel * es) {
      return FormatError(where() + "constant has " + std::to_string(t.nbytes) + " bytes, expected " +
                         std::to_string(numel * es) + " (" + std::to_string(numel) + " x " +
                         dtype_name(t.dtype) + ", shape " + shape_str(t.shape) + ")");
    }
    if (t.nbytes > 0 && t.data == nullptr) return FormatError(where() + "constant without data");
  } else if (t.nbytes != 0 || t.data != nullptr) {
    return FormatError(where() + "non-constant tensor carries data");
  } else if (t.layout != WeightLayout::kPlain || t.layout_nr != 0) {
    return FormatError(where() + "non-constant tensor with a weight layout");
  }
  return validate_quant(m, ti);
}

}  // namespace

Status validate_model(const ModelDef& m) {
  const size_t nt = m.tensors.size();
  if (nt > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return FormatError("too many tensors: " + std::to_string(nt));
  // Duplicate names through one sorted array of views (a hash map of strings cost ~2 heap
  // allocations per tensor, a measurable part of a small model's load). The error names the
  // first tensor, in file order, whose name an earlier tensor already has, after the records
  // before it were validated: the same report a scan in file order gives.
  size_t dup = nt, dup_of = nt;
  {
    std::vector<std::pair<std::string_view, size_t>> byname(nt);
    for (size_t i = 0; i < nt; ++i) byname[i] = {m.tensors[i].name, i};
    std::sort(byname.begin(), byname.end());
    // Within a run of equal names the indices ascend: its first entry is the original and its
    // second the first duplicate.
    for (size_t k = 1; k < nt; ++k)
      if (byname[k].first == byname[k - 1].first && (k < 2 || byname[k - 2].first != byname[k].first) &&
          byname[k].second < dup) {
        dup = byname[k].second;
        dup_of = byname[k - 1].second;
      }
  }
  for (size_t i = 0; i < nt; ++i) {
    QRT_RETURN_IF_ERROR(validate_tensor(m, i));
    if (i == dup)
      return FormatError("tensor #" + std::to_string(i) + ": duplicate name '" +
                         m.tensors[i].name + "' (also tensor #" + std::to_string(dup_of) + ")");
  }
  auto valid = [&](int32_t t) { return t >= 0 && static_cast<size_t>(t) < nt; };

  // 0 = not available yet, 1 = constant or graph input, 2 = produced by a node.
  std::vector<uint8_t> state(nt, 0);
  std::vector<int64_t> producer(nt, -1);
  for (size_t i = 0; i < nt; ++i)
    if (m.tensors[i].is_constant) state[i] = 1;
  for (size_t k = 0; k < m.inputs.size(); ++k) {
    const int32_t t = m.inputs[k];
    if (!valid(t))
      return FormatError("graph input #" + std::to_string(k) + ": tensor index " +
                         std::to_string(t) + " out of range [0, " + std::to_string(nt) + ")");
    if (m.tensors[t].is_constant)
      return FormatError("graph input #" + std::to_string(k) + ": " + tensor_ref(m, t) +
                         " is a constant");
    if (state[t]) return FormatError("graph input #" + std::to_string(k) + ": " + tensor_ref(m, t) +
                                     " listed twice");
    state[t] = 1;
  }

  // Producers first (so that an early use of a later output is reported as an ordering error).
  for (size_t ni = 0; ni < m.nodes.size(); ++ni) {
    const NodeDef& n = m.nodes[ni];
    auto where = [&] { return node_ref(n, ni) + ": "; };  // built only for an error
    if (n.op_type.empty()) return FormatError(where() + "empty op type");
    if (n.op_version < 1) return FormatError(where() + "op version 0 (must be >= 1)");
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const int32_t t = n.outputs[k];
      if (!valid(t))
        return FormatError(where() + "output " + std::to_string(k) + ": tensor index " +
                           std::to_string(t) + " out of range [0, " + std::to_string(nt) + ")");
      if (state[t] == 1)
        return FormatError(where() + "output " + std::to_string(k) + ": " + tensor_ref(m, t) + " is " +
                           (m.tensors[t].is_constant ? "a constant" : "a graph input"));
      if (producer[t] >= 0)
        return FormatError(where() + "output " + std::to_string(k) + ": " + tensor_ref(m, t) +
                           " is already produced by " +
                           node_ref(m.nodes[producer[t]], static_cast<size_t>(producer[t])));
      producer[t] = static_cast<int64_t>(ni);
    }
    for (size_t a = 0; a < n.attrs.size(); ++a) {
      const AttrDef& at = n.attrs[a];
      if (at.name.empty()) return FormatError(where() + "attribute #" + std::to_string(a) + " has no name");
      const int ty = static_cast<int>(at.type);
      if (ty < 1 || ty > 5)
        return FormatError(where() + "attribute '" + at.name + "': invalid type " + std::to_string(ty));
      if (n.attrs.size() <= 16) {
        for (size_t b = 0; b < a; ++b)
          if (n.attrs[b].name == at.name)
            return FormatError(where() + "duplicate attribute '" + at.name + "'");
      }
    }
    if (n.attrs.size() > 16) {  // hostile files: no quadratic scan
      std::unordered_set<std::string_view> seen;
      for (const AttrDef& at : n.attrs)
        if (!seen.insert(at.name).second)
          return FormatError(where() + "duplicate attribute '" + at.name + "'");
    }
  }
  for (size_t ni = 0; ni < m.nodes.size(); ++ni) {
    const NodeDef& n = m.nodes[ni];
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int32_t t = n.inputs[k];
      if (t == kNoTensor) continue;
      auto where = [&] { return node_ref(n, ni) + ": input " + std::to_string(k) + ": "; };  // built only for an error
      if (!valid(t))
        return FormatError(where() + "tensor index " + std::to_string(t) + " out of range [0, " +
                           std::to_string(nt) + ") (or -1 for absent)");
      if (state[t]) continue;
      if (producer[t] < 0)
        return FormatError(where() + tensor_ref(m, t) +
                           " is not a constant, not a graph input and not produced by any node");
      return FormatError(where() + tensor_ref(m, t) + " is produced by a later node, " +
                         node_ref(m.nodes[producer[t]], static_cast<size_t>(producer[t])) +
                         " (nodes must be in topological order)");
    }
    for (int32_t t : n.outputs) state[t] = 2;
  }
  std::vector<uint8_t> seen(nt, 0);
  for (size_t k = 0; k < m.outputs.size(); ++k) {
    const int32_t t = m.outputs[k];
    if (!valid(t))
      return FormatError("graph output #" + std::to_string(k) + ": tensor index " +
                         std::to_string(t) + " out of range [0, " + std::to_string(nt) + ")");
    if (producer[t] < 0)
      return FormatError("graph output #" + std::to_string(k) + ": " + tensor_ref(m, t) +
                         " is not produced by any node");
    if (seen[t]) return FormatError("graph output #" + std::to_string(k) + ": " + tensor_ref(m, t) +
                                    " listed twice");
    seen[t] = 1;
  }
  std::unordered_map<std::string, size_t> keys;
  for (size_t k = 0; k < m.metadata.size(); ++k) {
    const std::string& key = m.metadata[k].first;
    if (key.empty()) return FormatError("metadata entry #" + std::to_string(k) + ": empty key");
    if (!keys.emplace(key, k).second)
      return FormatError("metadata: duplicate key '" + key + "'");
  }
  return OkStatus();
}

}  // namespace qrt::format
