// The .qmodel writer: ModelDef -> bytes, in the layout of qrt/format.h.
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/crc32c.h"
#include "format/le.h"
#include "format/model_def.h"
#include "format/testing.h"
#include "qrt/format.h"

namespace qrt::format {
namespace {

constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

class StringTable {
 public:
  Result<uint32_t> intern(const std::string& s) {
    auto it = index_.find(s);
    if (it != index_.end()) return it->second;
    if (strings_.size() >= kU32Max) return InvalidArgument("more than 2^32-1 distinct strings");
    const uint32_t id = static_cast<uint32_t>(strings_.size());
    strings_.push_back(s);
    index_.emplace(s, id);
    return id;
  }
  Status serialize(le::Out* o) const {
    uint64_t total = 0;
    for (const std::string& s : strings_) total += s.size();
    if (total > kU32Max) return InvalidArgument("strings total " + std::to_string(total) + " bytes (max 4 GiB)");
    o->u32(static_cast<uint32_t>(strings_.size()));
    o->u32(0);
    uint64_t end = 0;
    for (const std::string& s : strings_) {
      end += s.size();
      o->u32(static_cast<uint32_t>(end));
    }
    for (const std::string& s : strings_) o->bytes(s.data(), s.size());
    o->pad_to(8);
    return OkStatus();
  }

 private:
  std::vector<std::string> strings_;
  std::unordered_map<std::string, uint32_t> index_;
};

#define QRT_INTERN(var, str, what)                                                   \
  if (!le::valid_utf8(reinterpret_cast<const uint8_t*>((str).data()), (str).size())) return InvalidArgument(std::string(what) + " is not valid UTF-8"); \
  QRT_ASSIGN_OR_RETURN(uint32_t var, strings.intern(str))

}  // namespace

Status write_model(const ModelDef& m, std::vector<uint8_t>* out) {
  Status st = validate_model(m);
  if (!st.ok()) return InvalidArgument("write_model: " + st.message());
  return write_model_unchecked(m, out);
}

Status write_model_unchecked(const ModelDef& m, std::vector<uint8_t>* out) {
  for (const TensorDef& t : m.tensors)
    if (t.is_constant && t.nbytes && !t.data)
      return InvalidArgument("write_model: tensor '" + t.name + "': constant without data");
  if (m.nodes.size() > kU32Max || m.inputs.size() > kU32Max || m.outputs.size() > kU32Max ||
      m.metadata.size() > kU32Max)
    return InvalidArgument("write_model: a count exceeds 2^32-1");

  StringTable strings;

  // Weights layout (relative to the weights section's start, which is 64-aligned).
  std::vector<uint64_t> rel_offset(m.tensors.size(), 0);
  uint64_t weights_size = 0;
  bool packed = false;  // format 1.1: 40-byte tensor records, kHeaderPackedWeights, minor 1
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorDef& t = m.tensors[i];
    packed |= t.layout != WeightLayout::kPlain;
    if (!t.is_constant) continue;
    weights_size = (weights_size + kWeightsAlignment - 1) / kWeightsAlignment * kWeightsAlignment;
    rel_offset[i] = weights_size;
    weights_size += t.nbytes;
  }
  if (packed) weights_size += kPackedTailBytes;

  // Tensors (data_offset patched once the weights section's offset is known).
  le::Out tensors;
  std::vector<size_t> data_offset_pos(m.tensors.size(), 0);
  tensors.u32(static_cast<uint32_t>(m.tensors.size()));
  tensors.u32(packed ? sizeof(TensorRecord) + sizeof(TensorRecordV1_1) : sizeof(TensorRecord));
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorDef& t = m.tensors[i];
    const size_t start = tensors.size();
    QRT_INTERN(name, t.name, "tensor name");
    std::vector<uint32_t> dim_names;
    for (const std::string& dn : t.dim_names) {
      QRT_INTERN(id, dn, "dim name of tensor '" + t.name + "'");
      dim_names.push_back(id);
    }
    uint8_t flags = 0;
    if (t.is_constant) flags |= kTensorConstant;
    if (!t.dim_names.empty()) flags |= kTensorHasDimNames;
    tensors.u32(name);
    tensors.u8(static_cast<uint8_t>(t.dtype));
    tensors.u8(flags);
    tensors.u16(static_cast<uint16_t>(t.shape.size()));
    data_offset_pos[i] = tensors.size();
    tensors.u64(0);
    tensors.u64(t.is_constant ? t.nbytes : 0);
    tensors.i32(t.quant.axis);
    tensors.u32(static_cast<uint32_t>(t.quant.scales.size()));
    if (packed) {
      tensors.u32(static_cast<uint32_t>(t.layout));
      tensors.u32(t.layout_nr);
    }
    for (int64_t d : t.shape) tensors.i64(d);
    for (uint32_t id : dim_names) tensors.u32(id);
    for (float s : t.quant.scales) tensors.f32(s);
    for (int32_t z : t.quant.zero_points) tensors.i32(z);
    tensors.pad_to(8, start);
  }

  // Nodes.
  le::Out nodes;
  nodes.u32(static_cast<uint32_t>(m.nodes.size()));
  nodes.u32(sizeof(NodeRecord));
  for (const NodeDef& n : m.nodes) {
    const size_t start = nodes.size();
    QRT_INTERN(op, n.op_type, "op type");
    QRT_INTERN(name, n.name, "node name");
    nodes.u32(op);
    nodes.u32(name);
    nodes.u16(n.op_version);
    nodes.u16(0);
    nodes.u32(static_cast<uint32_t>(n.inputs.size()));
    nodes.u32(static_cast<uint32_t>(n.outputs.size()));
    nodes.u32(static_cast<uint32_t>(n.attrs.size()));
    for (int32_t t : n.inputs) nodes.i32(t);
    for (int32_t t : n.outputs) nodes.i32(t);
    nodes.pad_to(8, start);
    for (const AttrDef& a : n.attrs) {
      QRT_INTERN(an, a.name, "attribute name of node '" + n.name + "'");
      nodes.u32(an);
      nodes.u8(static_cast<uint8_t>(a.type));
      nodes.u8(0), nodes.u8(0), nodes.u8(0);
      switch (a.type) {
        case AttrType::kInt: nodes.i64(a.i); break;
        case AttrType::kFloat: {
          uint32_t bits;
          std::memcpy(&bits, &a.f, 4);
          nodes.u64(bits);
          break;
        }
        case AttrType::kString: {
          QRT_INTERN(sv, a.s, "string attribute '" + a.name + "' of node '" + n.name + "'");
          nodes.u64(sv);
          break;
        }
        case AttrType::kInts:
          nodes.u64(a.ints.size());
          for (int64_t v : a.ints) nodes.i64(v);
          break;
        case AttrType::kFloats:
          nodes.u64(a.floats.size());
          for (float v : a.floats) nodes.f32(v);
          nodes.pad_to(8, start);
          break;
      }
    }
  }

  // Graph.
  le::Out graph;
  graph.u32(static_cast<uint32_t>(m.inputs.size()));
  graph.u32(static_cast<uint32_t>(m.outputs.size()));
  for (int32_t t : m.inputs) graph.i32(t);
  for (int32_t t : m.outputs) graph.i32(t);
  graph.pad_to(8);

  // Metadata.
  le::Out meta;
  meta.u32(static_cast<uint32_t>(m.metadata.size()));
  meta.u32(sizeof(MetadataRecord));
  for (const auto& kv : m.metadata) {
    QRT_INTERN(k, kv.first, "metadata key");
    QRT_INTERN(v, kv.second, "metadata value of '" + kv.first + "'");
    meta.u32(k);
    meta.u32(v);
  }

  le::Out strs;
  QRT_RETURN_IF_ERROR(strings.serialize(&strs));

  // Layout: header, section table, structural sections (8-aligned), weights (64-aligned).
  struct Sec {
    SectionKind kind;
    uint32_t flags;
    const le::Out* body;
    uint64_t offset = 0, size = 0;
    uint32_t crc = 0;
  };
  Sec secs[] = {
      {SectionKind::kStrings, kSectionRequired, &strs},
      {SectionKind::kTensors, kSectionRequired, &tensors},
      {SectionKind::kNodes, kSectionRequired, &nodes},
      {SectionKind::kGraph, kSectionRequired, &graph},
      {SectionKind::kMetadata, 0, &meta},
      {SectionKind::kWeights, kSectionRequired, nullptr},
  };
  const uint32_t nsec = sizeof(secs) / sizeof(secs[0]);
  uint64_t pos = sizeof(FileHeader) + uint64_t{nsec} * sizeof(SectionEntry);
  for (Sec& s : secs) {
    const uint64_t align = s.body ? kSectionAlignment : kWeightsAlignment;
    pos = (pos + align - 1) / align * align;
    s.offset = pos;
    s.size = s.body ? s.body->size() : weights_size;
    pos += s.size;
  }
  const uint64_t file_size = pos;
  if (file_size > std::numeric_limits<size_t>::max())
    return InvalidArgument("write_model: file of " + std::to_string(file_size) + " bytes");
  const uint64_t weights_offset = secs[nsec - 1].offset;
  for (size_t i = 0; i < m.tensors.size(); ++i)
    tensors.put_u64_at(data_offset_pos[i],
                       m.tensors[i].is_constant ? weights_offset + rel_offset[i] : 0);

  std::vector<uint8_t>& f = *out;
  f.assign(static_cast<size_t>(file_size), 0);
  for (Sec& s : secs) {
    uint8_t* dst = f.data() + s.offset;
    if (s.body) {
      if (!s.body->b.empty()) std::memcpy(dst, s.body->b.data(), s.body->size());
    } else {
      for (size_t i = 0; i < m.tensors.size(); ++i) {
        const TensorDef& t = m.tensors[i];
        if (t.is_constant && t.nbytes) std::memcpy(dst + rel_offset[i], t.data, t.nbytes);
      }
    }
    s.crc = crc32c(dst, s.size);
  }
  le::Out table;
  for (const Sec& s : secs) {
    table.u32(static_cast<uint32_t>(s.kind));
    table.u32(s.flags);
    table.u64(s.offset);
    table.u64(s.size);
    table.u32(s.crc);
    table.u32(0);
  }
  std::memcpy(f.data() + sizeof(FileHeader), table.b.data(), table.size());

  le::Out h;
  h.bytes(kMagic, 8);
  h.u16(kFormatMajor);
  h.u16(packed ? 1 : 0);                      // the lowest minor that describes the file
  h.u32(packed ? kHeaderPackedWeights : 0);   // flags
  h.u32(sizeof(FileHeader));
  h.u32(nsec);
  h.u64(file_size);
  h.u64(sizeof(FileHeader));                  // section table offset
  h.u32(sizeof(SectionEntry));
  h.u32(crc32c(table.b.data(), table.size()));
  h.u32(0), h.u32(0), h.u32(0);
  h.u32(0);                                   // header crc, below
  h.put_u32_at(kHeaderCrcOffset, crc32c(h.b.data(), h.size()));
  std::memcpy(f.data(), h.b.data(), h.size());
  return OkStatus();
}

Status write_model_file(const ModelDef& m, const std::string& path) {
  std::vector<uint8_t> bytes;
  QRT_RETURN_IF_ERROR(write_model(m, &bytes));
  const std::string tmp = path + ".tmp";
  std::FILE* fp = std::fopen(tmp.c_str(), "wb");
  if (!fp) return InvalidArgument("'" + path + "': cannot open for writing");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
  const bool closed = std::fclose(fp) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    return InvalidArgument("'" + path + "': write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return InvalidArgument("'" + path + "': cannot rename the temporary file into place");
  }
  return OkStatus();
}

}  // namespace qrt::format

namespace qrt::format {

void refresh_checksums(std::vector<uint8_t>* file) {
  std::vector<uint8_t>& f = *file;
  if (f.size() < sizeof(FileHeader)) return;
  const uint32_t header_size = le::u32(f.data() + 16);
  const uint32_t count = le::u32(f.data() + 20);
  const uint64_t table = le::u64(f.data() + 32);
  const uint32_t entry = le::u32(f.data() + 40);
  if (entry >= sizeof(SectionEntry) && count <= kMaxSections && table <= f.size() &&
      uint64_t{count} * entry <= f.size() - table) {
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t* e = f.data() + table + uint64_t{i} * entry;
      const uint64_t off = le::u64(e + 8), size = le::u64(e + 16);
      if (off <= f.size() && size <= f.size() - off) {
        const uint32_t crc = crc32c(f.data() + off, size);
        for (int k = 0; k < 4; ++k) e[24 + k] = static_cast<uint8_t>(crc >> (8 * k));
      }
    }
    const uint32_t crc = crc32c(f.data() + table, uint64_t{count} * entry);
    for (int k = 0; k < 4; ++k) f[44 + k] = static_cast<uint8_t>(crc >> (8 * k));
  }
  if (header_size >= sizeof(FileHeader) && header_size <= f.size()) {
    for (int k = 0; k < 4; ++k) f[kHeaderCrcOffset + k] = 0;
    const uint32_t crc = crc32c(f.data(), header_size);
    for (int k = 0; k < 4; ++k) f[kHeaderCrcOffset + k] = static_cast<uint8_t>(crc >> (8 * k));
  }
}

}  // namespace qrt::format
