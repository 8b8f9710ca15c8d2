// The .qmodel reader: bytes -> ModelDef. The input is hostile: every count, offset, size, index
// and enum is checked before use with overflow-free arithmetic (a - b only after b <= a; products
// only after a division bound), and nothing is allocated in proportion to a count before the
// count is checked against the bytes that must hold it.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "format/weight_layout.h"
#include "format/crc32c.h"
#include "format/le.h"
#include "format/model_def.h"
#include "qrt/format.h"

namespace qrt::format {
namespace {

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08X", v);
  return b;
}
std::string num(uint64_t v) { return std::to_string(v); }

// What an error names ("tensor #3 'w': dims"). Nearly every read succeeds, so the readers below
// take either a string or a callable that builds it, and build it only for an error: building
// the names eagerly was a third of read_model for a 300-tensor model.
template <class W>
std::string text(const W& what) {
  if constexpr (std::is_invocable_v<const W&>) return what();
  else return std::string(what);
}

// A bounded cursor over one section. All reads check the remaining length first.
class Cursor {
 public:
  Cursor(const uint8_t* file, uint64_t begin, uint64_t size, const char* section)
      : file_(file), begin_(begin), pos_(begin), end_(begin + size), section_(section) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return end_ - pos_; }
  uint64_t offset_in_section() const { return pos_ - begin_; }
  const uint8_t* ptr() const { return file_ + pos_; }

  // Fails unless `n` more bytes are present; `what` names the object being read.
  template <class W>
  Status need(uint64_t n, const W& what) const {
    if (n <= remaining()) return OkStatus();
    return FormatError(std::string(section_) + " section: " + text(what) + " truncated: needs " + num(n) +
                       " bytes at section offset " + num(offset_in_section()) + ", " +
                       num(remaining()) + " remain");
  }
  // Checks that `count` elements of `elem` bytes fit (without overflow).
  template <class W>
  Status need_array(uint64_t count, uint64_t elem, const W& what) const {
    if (count > remaining() / elem)
      return FormatError(std::string(section_) + " section: " + text(what) + ": count " + num(count) +
                         " needs " + (count > std::numeric_limits<uint64_t>::max() / elem
                                          ? std::string("more than 2^64")
                                          : num(count * elem)) +
                         " bytes at section offset " + num(offset_in_section()) + ", only " +
                         num(remaining()) + " remain");
    return OkStatus();
  }
  void skip(uint64_t n) { pos_ += n; }  // only after need()
  uint8_t u8() { return file_[pos_++]; }
  uint16_t u16() { uint16_t v = le::u16(ptr()); pos_ += 2; return v; }
  uint32_t u32() { uint32_t v = le::u32(ptr()); pos_ += 4; return v; }
  uint64_t u64() { uint64_t v = le::u64(ptr()); pos_ += 8; return v; }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  float f32() { float v = le::f32(ptr()); pos_ += 4; return v; }
  // Skips zero padding up to a multiple of `align` from `from` (a position in this section).
  template <class W>
  Status pad(uint64_t from, uint64_t align, const W& what) {
    const uint64_t rem = (pos_ - from) % align;
    if (rem == 0) return OkStatus();
    QRT_RETURN_IF_ERROR(need(align - rem, [&] { return text(what) + " padding"; }));
    skip(align - rem);
    return OkStatus();
  }
  const char* section() const { return section_; }

 private:
  const uint8_t* file_;
  uint64_t begin_, pos_, end_;
  const char* section_;
};

class Strings {
 public:
  Status parse(Cursor c) {
    QRT_RETURN_IF_ERROR(c.need(sizeof(StringsHeader), "header"));
    count_ = c.u32();
    c.u32();
    QRT_RETURN_IF_ERROR(c.need_array(count_, 4, "string end offsets"));
    ends_ = c.ptr();
    c.skip(uint64_t{count_} * 4);
    bytes_ = c.ptr();
    const uint64_t avail = c.remaining();
    uint64_t prev = 0;
    for (uint32_t i = 0; i < count_; ++i) {
      const uint64_t e = le::u32(ends_ + 4ull * i);
      if (e < prev)
        return FormatError("strings section: string #" + num(i) + " ends at " + num(e) +
                           ", before its start " + num(prev));
      if (e > avail)
        return FormatError("strings section: string #" + num(i) + " ends at byte " + num(e) +
                           " but the string data holds " + num(avail) + " bytes");
      if (!le::valid_utf8(bytes_ + prev, e - prev))
        return FormatError("strings section: string #" + num(i) + " is not valid UTF-8");
      prev = e;
    }
    if (avail - prev >= 8)
      return FormatError("strings section: " + num(avail - prev) +
                         " bytes after the last string (at most 7 bytes of padding)");
    return OkStatus();
  }
  // Fetches string `idx`; `what` names the referencing field for the error. Strings are copied
  // into the ModelDef, and one long string may be referenced many times, so the total copied is
  // capped (in proportion to the file) to keep memory linear in the file size.
  template <class W>
  Status get(uint32_t idx, const W& what, std::string* out) {
    if (idx >= count_)
      return FormatError(text(what) + ": string index " + num(idx) + " out of range [0, " + num(count_) +
                         ")");
    const uint32_t b = idx ? le::u32(ends_ + 4ull * (idx - 1)) : 0;
    const uint32_t e = le::u32(ends_ + 4ull * idx);
    copied_ += e - b;
    if (copied_ > budget_)
      return FormatError(text(what) + ": string references expand to more than " + num(budget_) +
                         " bytes (8 x the file size + 1 MiB); the file is malformed");
    out->assign(reinterpret_cast<const char*>(bytes_) + b, e - b);
    return OkStatus();
  }
  void set_budget(uint64_t file_size) { budget_ = 8 * file_size + (1u << 20); }

 private:
  uint64_t copied_ = 0, budget_ = 1u << 20;
  uint32_t count_ = 0;
  const uint8_t* ends_ = nullptr;
  const uint8_t* bytes_ = nullptr;
};

struct Located {
  const SectionInfo* s = nullptr;
};

Status read_records_header(Cursor* c, uint32_t min_record, const char* what, uint32_t* count,
                           uint32_t* record_size) {
  QRT_RETURN_IF_ERROR(c->need(sizeof(RecordsHeader), "header"));
  *count = c->u32();
  *record_size = c->u32();
  if (*record_size < min_record || *record_size % 8 != 0)
    return FormatError(std::string(c->section()) + " section: record size " + num(*record_size) +
                       " (must be a multiple of 8 and >= " + num(min_record) + ")");
  return c->need_array(*count, *record_size, std::string(what) + " records");
}

std::string tensor_where(uint32_t i, const std::string& name) {
  return "tensor #" + num(i) + (name.empty() ? "" : " '" + name + "'");
}

Status parse_tensors(Cursor c, Strings& strings, const SectionInfo& weights,
                     const uint8_t* data, uint32_t header_flags, ModelDef* m) {
  uint32_t count, record_size;
  QRT_RETURN_IF_ERROR(read_records_header(&c, sizeof(TensorRecord), "tensor", &count, &record_size));
  if (count > static_cast<uint32_t>(std::numeric_limits<int32_t>::max()))
    return FormatError("tensors section: count " + num(count) + " exceeds 2^31-1");
  m->tensors.resize(count);  // bounded: count * record_size <= section size
  for (uint32_t i = 0; i < count; ++i) {
    TensorDef& t = m->tensors[i];
    const uint64_t start = c.pos();
    auto where0 = [&] { return tensor_where(i, ""); };
    QRT_RETURN_IF_ERROR(c.need(record_size, where0));
    const uint32_t name = c.u32();
    const uint8_t dtype = c.u8();
    const uint8_t flags = c.u8();
    const uint16_t rank = c.u16();
    const uint64_t data_offset = c.u64();
    const uint64_t data_size = c.u64();
    const int32_t axis = c.i32();
    const uint32_t qcount = c.u32();
    uint32_t layout = 0, layout_param = 0;
    if (record_size >= sizeof(TensorRecord) + sizeof(TensorRecordV1_1)) {
      layout = c.u32();
      layout_param = c.u32();
      c.skip(record_size - sizeof(TensorRecord) - sizeof(TensorRecordV1_1));
    } else {
      c.skip(record_size - sizeof(TensorRecord));
    }
    QRT_RETURN_IF_ERROR(strings.get(name, [&] { return "tensors section: " + where0() + ": name"; }, &t.name));
    auto where = [&] { return "tensors section: " + tensor_where(i, t.name); };
    if (dtype == 0 || dtype >= kNumDTypes)
      return FormatError(where() + ": invalid dtype " + num(dtype) + " (valid: 1.." +
                         num(kNumDTypes - 1) + ")");
    t.dtype = static_cast<DType>(dtype);
    if (layout != static_cast<uint32_t>(WeightLayout::kPlain)) {
      if (layout != static_cast<uint32_t>(WeightLayout::kC4))
        return FormatError(where() + ": unknown weight layout " + num(layout) + " (0 plain, 1 c4)");
      if (!(header_flags & kHeaderPackedWeights))
        return FormatError(where() + ": packed layout without the header's packed-weights flag");
      if (!c4_nr_valid(layout_param))
        return FormatError(where() + ": c4 layout with nr " + num(layout_param) + " (8, 16, 32 or 64)");
    } else if (layout_param != 0) {
      return FormatError(where() + ": plain layout with a layout parameter " + num(layout_param));
    }
    t.layout = static_cast<WeightLayout>(layout);
    t.layout_nr = layout_param;
    if (flags & ~kTensorKnownFlags)
      return FormatError(where() + ": unknown flag bits " + hex32(flags & ~kTensorKnownFlags));
    if (rank > kMaxRank)
      return FormatError(where() + ": rank " + num(rank) + " exceeds the maximum " + num(kMaxRank));
    QRT_RETURN_IF_ERROR(c.need_array(rank, 8, [&] { return where() + ": dims"; }));
    t.shape.resize(rank);
    for (uint16_t d = 0; d < rank; ++d) t.shape[d] = c.i64();
    if (flags & kTensorHasDimNames) {
      QRT_RETURN_IF_ERROR(c.need_array(rank, 4, [&] { return where() + ": dim names"; }));
      t.dim_names.resize(rank);
      for (uint16_t d = 0; d < rank; ++d)
        QRT_RETURN_IF_ERROR(strings.get(c.u32(), [&] { return where() + ": dim name " + num(d); }, &t.dim_names[d]));
    }
    t.quant.axis = axis;
    QRT_RETURN_IF_ERROR(c.need_array(qcount, 8, [&] { return where() + ": quantization parameters"; }));
    t.quant.scales.resize(qcount);
    t.quant.zero_points.resize(qcount);
    for (uint32_t k = 0; k < qcount; ++k) t.quant.scales[k] = c.f32();
    for (uint32_t k = 0; k < qcount; ++k) t.quant.zero_points[k] = c.i32();
    QRT_RETURN_IF_ERROR(c.pad(start, 8, where));
    t.is_constant = (flags & kTensorConstant) != 0;
    if (t.is_constant) {
      const uint64_t w_end = weights.offset + weights.size;  // bounded by the file size
      if (data_offset % kWeightsAlignment != 0)
        return FormatError(where() + ": data offset " + num(data_offset) +
                           " is not a multiple of " + num(kWeightsAlignment));
      if (data_offset < weights.offset || data_offset > w_end ||
          data_size > w_end - data_offset)
        return FormatError(where() + ": data [offset " + num(data_offset) + ", size " +
                           num(data_size) + "] is outside the weights section [offset " +
                           num(weights.offset) + ", size " + num(weights.size) + "]");
      t.data = data + data_offset;
      t.nbytes = data_size;
    } else if (data_offset != 0 || data_size != 0) {
      return FormatError(where() + ": non-constant tensor with data [offset " + num(data_offset) +
                         ", size " + num(data_size) + "]");
    }
  }
  if (c.remaining() != 0)
    return FormatError("tensors section: " + num(c.remaining()) + " bytes after the last tensor");
  return OkStatus();
}

Status parse_nodes(Cursor c, Strings& strings, ModelDef* m) {
  uint32_t count, record_size;
  QRT_RETURN_IF_ERROR(read_records_header(&c, sizeof(NodeRecord), "node", &count, &record_size));
  m->nodes.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    NodeDef& n = m->nodes[i];
    const uint64_t start = c.pos();
    auto where0 = [&] { return "node #" + num(i); };
    QRT_RETURN_IF_ERROR(c.need(record_size, where0));
    const uint32_t op = c.u32();
    const uint32_t name = c.u32();
    n.op_version = c.u16();
    c.u16();
    const uint32_t nin = c.u32();
    const uint32_t nout = c.u32();
    const uint32_t nattr = c.u32();
    c.skip(record_size - sizeof(NodeRecord));
    QRT_RETURN_IF_ERROR(strings.get(op, [&] { return "nodes section: " + where0() + ": op type"; }, &n.op_type));
    QRT_RETURN_IF_ERROR(strings.get(name, [&] { return "nodes section: " + where0() + ": name"; }, &n.name));
    auto where = [&] { return "node #" + num(i) + " '" + n.name + "' (" + n.op_type + ")"; };
    QRT_RETURN_IF_ERROR(c.need_array(nin, 4, [&] { return where() + ": inputs"; }));
    n.inputs.resize(nin);
    for (uint32_t k = 0; k < nin; ++k) n.inputs[k] = c.i32();
    QRT_RETURN_IF_ERROR(c.need_array(nout, 4, [&] { return where() + ": outputs"; }));
    n.outputs.resize(nout);
    for (uint32_t k = 0; k < nout; ++k) n.outputs[k] = c.i32();
    QRT_RETURN_IF_ERROR(c.pad(start, 8, where));
    QRT_RETURN_IF_ERROR(c.need_array(nattr, sizeof(AttrRecord), [&] { return where() + ": attributes"; }));
    n.attrs.resize(nattr);
    for (uint32_t k = 0; k < nattr; ++k) {
      AttrDef& a = n.attrs[k];
      const uint64_t astart = c.pos();
      QRT_RETURN_IF_ERROR(c.need(sizeof(AttrRecord), [&] { return where() + ": attribute #" + num(k); }));
      const uint32_t aname = c.u32();
      const uint8_t type = c.u8();
      c.skip(3);
      const uint64_t value = c.u64();
      QRT_RETURN_IF_ERROR(
          strings.get(aname, [&] { return "nodes section: " + where() + ": attribute #" + num(k) + " name"; }, &a.name));
      auto awhere = [&] { return "nodes section: " + where() + ": attribute '" + a.name + "'"; };
      switch (type) {
        case static_cast<uint8_t>(AttrType::kInt):
          a.type = AttrType::kInt;
          a.i = static_cast<int64_t>(value);
          break;
        case static_cast<uint8_t>(AttrType::kFloat): {
          a.type = AttrType::kFloat;
          const uint32_t bits = static_cast<uint32_t>(value);
          std::memcpy(&a.f, &bits, 4);
          break;
        }
        case static_cast<uint8_t>(AttrType::kString):
          a.type = AttrType::kString;
          if (value > std::numeric_limits<uint32_t>::max())
            return FormatError(awhere() + ": string index " + num(value) + " out of range");
          QRT_RETURN_IF_ERROR(strings.get(static_cast<uint32_t>(value), awhere, &a.s));
          break;
        case static_cast<uint8_t>(AttrType::kInts):
          a.type = AttrType::kInts;
          QRT_RETURN_IF_ERROR(c.need_array(value, 8, [&] { return awhere() + " values"; }));
          a.ints.resize(value);
          for (uint64_t e = 0; e < value; ++e) a.ints[e] = c.i64();
          break;
        case static_cast<uint8_t>(AttrType::kFloats):
          a.type = AttrType::kFloats;
          QRT_RETURN_IF_ERROR(c.need_array(value, 4, [&] { return awhere() + " values"; }));
          a.floats.resize(value);
          for (uint64_t e = 0; e < value; ++e) a.floats[e] = c.f32();
          QRT_RETURN_IF_ERROR(c.pad(astart, 8, awhere));
          break;
        default:
          return FormatError(awhere() + ": invalid attribute type " + num(type) + " (valid: 1..5)");
      }
    }
  }
  if (c.remaining() != 0)
    return FormatError("nodes section: " + num(c.remaining()) + " bytes after the last node");
  return OkStatus();
}

Status parse_graph(Cursor c, ModelDef* m) {
  QRT_RETURN_IF_ERROR(c.need(sizeof(GraphHeader), "header"));
  const uint32_t nin = c.u32();
  const uint32_t nout = c.u32();
  QRT_RETURN_IF_ERROR(c.need_array(nin, 4, "graph inputs"));
  m->inputs.resize(nin);
  for (uint32_t k = 0; k < nin; ++k) m->inputs[k] = c.i32();
  QRT_RETURN_IF_ERROR(c.need_array(nout, 4, "graph outputs"));
  m->outputs.resize(nout);
  for (uint32_t k = 0; k < nout; ++k) m->outputs[k] = c.i32();
  if (c.remaining() >= 8)
    return FormatError("graph section: " + num(c.remaining()) + " bytes after the outputs");
  return OkStatus();
}

Status parse_metadata(Cursor c, Strings& strings, ModelDef* m) {
  uint32_t count, record_size;
  QRT_RETURN_IF_ERROR(
      read_records_header(&c, sizeof(MetadataRecord), "metadata", &count, &record_size));
  m->metadata.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string where = "metadata section: entry #" + num(i);
    const uint32_t k = c.u32();
    const uint32_t v = c.u32();
    c.skip(record_size - sizeof(MetadataRecord));
    QRT_RETURN_IF_ERROR(strings.get(k, where + " key", &m->metadata[i].first));
    QRT_RETURN_IF_ERROR(strings.get(v, where + " value", &m->metadata[i].second));
  }
  if (c.remaining() != 0)
    return FormatError("metadata section: " + num(c.remaining()) + " bytes after the last entry");
  return OkStatus();
}

}  // namespace

Result<FileInfo> read_file_info(const uint8_t* data, size_t size, bool verify_checksums) {
  if (size == 0) return FormatError("file is empty (0 bytes)");
  if (data == nullptr) return FormatError("no data");
  if (size < sizeof(kMagic) || std::memcmp(data, kMagic, sizeof(kMagic)) != 0)
    return FormatError("not a .qmodel file (the first 8 bytes are not the .qmodel magic "
                       "89 51 4D 44 0D 0A 1A 0A)");
  if (size < 12) return FormatError("file is " + num(size) + " bytes, truncated inside the header");
  FileInfo info;
  info.format_major = le::u16(data + 8);
  info.format_minor = le::u16(data + 10);
  const std::string version = num(info.format_major) + "." + num(info.format_minor);
  if (info.format_major > kFormatMajor)
    return FormatError("format version " + version + " is newer than this runtime (max " +
                       num(kFormatMajor) + "." + num(kFormatMinor) + "); upgrade qrt");
  if (info.format_major == 0)
    return FormatError("format version " + version + " is not a valid version (major 0)");
  if (size < sizeof(FileHeader))
    return FormatError("file is " + num(size) + " bytes, smaller than the " +
                       num(sizeof(FileHeader)) + "-byte header (truncated)");
  info.flags = le::u32(data + 12);
  const uint32_t header_size = le::u32(data + 16);
  const uint32_t section_count = le::u32(data + 20);
  info.file_size = le::u64(data + 24);
  info.section_table_offset = le::u64(data + 32);
  const uint32_t entry_size = le::u32(data + 40);
  const uint32_t table_crc = le::u32(data + 44);
  const uint32_t header_crc = le::u32(data + kHeaderCrcOffset);
  if (header_size < sizeof(FileHeader) || header_size > size)
    return FormatError("header size " + num(header_size) + " is invalid (>= " +
                       num(sizeof(FileHeader)) + " and <= file size " + num(size) + ")");
  if (verify_checksums) {
    const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t crc = crc32c(data, kHeaderCrcOffset);
    crc = crc32c(zero, 4, crc);
    crc = crc32c(data + kHeaderCrcOffset + 4, header_size - kHeaderCrcOffset - 4, crc);
    if (crc != header_crc)
      return FormatError("header checksum mismatch: stored " + hex32(header_crc) + ", computed " +
                         hex32(crc) + " (the file is corrupted)");
  }
  if (info.file_size != size)
    return FormatError("header says the file is " + num(info.file_size) + " bytes but it is " +
                       num(size) + (size < info.file_size ? " (truncated)" : ""));
  if (info.flags & kHeaderIncompatibleFlagsMask & ~kHeaderKnownIncompatibleFlags)
    return FormatError("header has unknown incompatible flags " +
                       hex32(info.flags & kHeaderIncompatibleFlagsMask & ~kHeaderKnownIncompatibleFlags) +
                       "; upgrade qrt");
  if (entry_size < sizeof(SectionEntry) || entry_size % 8 != 0 || entry_size > 4096)
    return FormatError("section entry size " + num(entry_size) +
                       " is invalid (a multiple of 8 in [32, 4096])");
  if (section_count > kMaxSections)
    return FormatError("section count " + num(section_count) + " exceeds the maximum " +
                       num(kMaxSections));
  const uint64_t table_bytes = uint64_t{section_count} * entry_size;  // <= 2^20
  if (info.section_table_offset < header_size || info.section_table_offset > size ||
      table_bytes > size - info.section_table_offset)
    return FormatError("section table [offset " + num(info.section_table_offset) + ", " +
                       num(section_count) + " x " + num(entry_size) +
                       " bytes] is outside the file (header " + num(header_size) +
                       " bytes, file " + num(size) + " bytes)");
  const uint8_t* table = data + info.section_table_offset;
  if (verify_checksums) {
    const uint32_t crc = crc32c(table, table_bytes);
    if (crc != table_crc)
      return FormatError("section table checksum mismatch: stored " + hex32(table_crc) +
                         ", computed " + hex32(crc) + " (the file is corrupted)");
  }
  info.sections.resize(section_count);
  for (uint32_t i = 0; i < section_count; ++i) {
    const uint8_t* e = table + uint64_t{i} * entry_size;
    SectionInfo& s = info.sections[i];
    s.kind = le::u32(e);
    s.flags = le::u32(e + 4);
    s.offset = le::u64(e + 8);
    s.size = le::u64(e + 16);
    s.crc32c = le::u32(e + 24);
    if (s.offset < header_size || s.offset > size || s.size > size - s.offset)
      return FormatError("section #" + num(i) + " (" + section_kind_name(s.kind) + ") [offset " +
                         num(s.offset) + ", size " + num(s.size) + "] is outside the file (" +
                         num(size) + " bytes, header " + num(header_size) + " bytes)");
  }
  // No two non-empty ranges (sections and the table) may overlap.
  struct Range {
    uint64_t begin, end;
    int64_t index;  // -1 = the section table
  };
  std::vector<Range> ranges;
  ranges.reserve(section_count + 1);
  if (table_bytes)
    ranges.push_back({info.section_table_offset, info.section_table_offset + table_bytes, -1});
  for (uint32_t i = 0; i < section_count; ++i)
    if (info.sections[i].size)
      ranges.push_back({info.sections[i].offset, info.sections[i].offset + info.sections[i].size, i});
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  auto name = [&](int64_t idx) {
    return idx < 0 ? std::string("the section table")
                   : "section #" + num(idx) + " (" + section_kind_name(info.sections[idx].kind) + ")";
  };
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      return FormatError(name(ranges[i].index) + " overlaps " + name(ranges[i - 1].index));
  return info;
}

Result<ModelDef> read_model(const uint8_t* data, size_t size, const ReadOptions& options) {
  QRT_ASSIGN_OR_RETURN(FileInfo info, read_file_info(data, size, options.verify_checksums));

  constexpr uint32_t kKnown = static_cast<uint32_t>(SectionKind::kWeights);
  const SectionInfo* found[kKnown + 1] = {};
  for (size_t i = 0; i < info.sections.size(); ++i) {
    const SectionInfo& s = info.sections[i];
    if (s.kind == 0 || s.kind > kKnown) {
      if (s.flags & kSectionRequired)
        return FormatError("section #" + num(i) + " has unknown kind " + num(s.kind) +
                           " and is marked required; this runtime reads format " +
                           num(kFormatMajor) + "." + num(kFormatMinor) + " (upgrade qrt)");
      continue;  // unknown optional section: skipped
    }
    if (found[s.kind])
      return FormatError("more than one " + std::string(section_kind_name(s.kind)) + " section");
    found[s.kind] = &s;
  }
  for (uint32_t k = 1; k <= kKnown; ++k)
    if (!found[k] && k != static_cast<uint32_t>(SectionKind::kMetadata))
      return FormatError(std::string("missing the required ") + section_kind_name(k) + " section");
  const SectionInfo& weights = *found[static_cast<uint32_t>(SectionKind::kWeights)];
  if (weights.offset % kWeightsAlignment != 0)
    return FormatError("weights section offset " + num(weights.offset) +
                       " is not a multiple of " + num(kWeightsAlignment));
  for (uint32_t k = 1; k <= kKnown; ++k) {
    const SectionInfo* s = found[k];
    if (!s) continue;
    const bool is_weights = k == static_cast<uint32_t>(SectionKind::kWeights);
    if (is_weights ? !options.verify_weights : !options.verify_checksums) continue;
    const uint32_t crc = crc32c(data + s->offset, s->size);
    if (crc != s->crc32c)
      return FormatError(std::string(section_kind_name(k)) + " section checksum mismatch: stored " +
                         hex32(s->crc32c) + ", computed " + hex32(crc) + " (the file is corrupted)");
  }

  auto cursor = [&](SectionKind k) {
    const SectionInfo* s = found[static_cast<uint32_t>(k)];
    return Cursor(data, s->offset, s->size, section_kind_name(static_cast<uint32_t>(k)));
  };
  ModelDef m;
  m.format_major = info.format_major;
  m.format_minor = info.format_minor;
  Strings strings;
  strings.set_budget(size);
  QRT_RETURN_IF_ERROR(strings.parse(cursor(SectionKind::kStrings)));
  QRT_RETURN_IF_ERROR(
      parse_tensors(cursor(SectionKind::kTensors), strings, weights, data, info.flags, &m));
  QRT_RETURN_IF_ERROR(parse_nodes(cursor(SectionKind::kNodes), strings, &m));
  QRT_RETURN_IF_ERROR(parse_graph(cursor(SectionKind::kGraph), &m));
  if (found[static_cast<uint32_t>(SectionKind::kMetadata)])
    QRT_RETURN_IF_ERROR(parse_metadata(cursor(SectionKind::kMetadata), strings, &m));
  QRT_RETURN_IF_ERROR(validate_model(m));
  if (options.verify_weights) {
    // The checksum says the bytes are the writer's; this says a packed tensor's derived bytes
    // (column sums, zero padding) agree with its weights, as a runtime that unpacks and repacks
    // would compute them — so a packed file gives the same results on every CPU.
    for (const TensorDef& t : m.tensors) {
      if (t.layout != WeightLayout::kC4) continue;
      uint64_t N = 0, K = 0;
      c4_matrix_dims(t.shape, &N, &K);
      const std::string why = check_c4(N, K, t.layout_nr, t.data);
      if (!why.empty())
        return FormatError("tensor '" + t.name + "' (" + layout_name(t.layout, t.layout_nr) + "): " + why);
    }
  }
  return m;
}

}  // namespace qrt::format
