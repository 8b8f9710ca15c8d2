// The in-memory form of a .qmodel: what the reader produces from a file (after validating every
// byte of it) and what the writer serialises. One implementation of the layout lives behind
// read_model()/write_model(); everything else in qrt sees only these structs.
//
// Ownership: names, shapes, attributes and quantization parameters are owned copies (they are
// small). Constant tensor bytes are NOT copied: `data` points into the caller's buffer (the mmap
// of the file when loading, the converter's arrays when writing), which must outlive the ModelDef.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "qrt/status.h"

namespace qrt::format {

// Element types. Values are stored in the file: never renumber, only append.
enum class DType : uint8_t {
  kUndefined = 0,
  kF32 = 1,
  kF16 = 2,
  kBF16 = 3,
  kS8 = 4,
  kU8 = 5,
  kS32 = 6,
  kS64 = 7,
  kBool = 8,
};
constexpr int kNumDTypes = 9;
const char* dtype_name(DType t);              // "f32", "f16", "bf16", "s8", "u8", "s32", "s64", "bool"
bool parse_dtype(const std::string& s, DType* out);
size_t dtype_size(DType t);                   // bytes per element; 0 for kUndefined

// real = scale * (q - zero_point). Per tensor: axis = -1 and one scale/zero point. Per axis:
// scales.size() == zero_points.size() == shape[axis].
struct QuantParams {
  int32_t axis = -1;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  bool empty() const { return scales.empty(); }
};

// How a constant's bytes are arranged (TensorRecord.layout, format 1.1; format/weight_layout.h).
// Stored in files: never renumber, only append.
enum class WeightLayout : uint32_t { kPlain = 0, kC4 = 1 };

struct TensorDef {
  std::string name;
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;      // -1 marks a dynamic dimension (graph inputs/outputs)
  std::vector<std::string> dim_names;  // empty, or one per dim ("" for unnamed/static)
  bool is_constant = false;
  const uint8_t* data = nullptr;   // constants: element bytes, little-endian, row-major
  uint64_t nbytes = 0;             // constants: numel * dtype_size (plain) or the layout's size
  WeightLayout layout = WeightLayout::kPlain;  // kC4: s8 [N, ...] packed for an int8 GEMM
  uint32_t layout_nr = 0;          // kC4: panel width 8, 16, 32 or 64; 0 for plain
  QuantParams quant;
};

enum class AttrType : uint8_t { kInt = 1, kFloat = 2, kString = 3, kInts = 4, kFloats = 5 };

struct AttrDef {
  std::string name;
  AttrType type = AttrType::kInt;
  int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
};

constexpr int32_t kNoTensor = -1;  // an absent optional input

struct NodeDef {
  std::string op_type;             // see docs/FORMAT.md "Operators"
  uint16_t op_version = 1;
  std::string name;
  std::vector<int32_t> inputs;     // tensor indices, kNoTensor for an absent optional input
  std::vector<int32_t> outputs;    // tensor indices
  std::vector<AttrDef> attrs;

  const AttrDef* attr(const std::string& n) const {
    for (const AttrDef& a : attrs)
      if (a.name == n) return &a;
    return nullptr;
  }
};

struct ModelDef {
  uint32_t format_major = 0, format_minor = 0;  // filled by the reader
  std::vector<TensorDef> tensors;
  std::vector<NodeDef> nodes;                   // in a valid execution order
  std::vector<int32_t> inputs, outputs;         // graph inputs/outputs, tensor indices
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Parses and validates a whole file image. On success every index is in range, every constant's
// bytes lie inside [data, data+size), names are unique, nodes are topologically ordered (each
// input is a constant, a graph input or an earlier node's output), dtypes/attr types are valid.
// `data` must stay alive and unchanged while the ModelDef is used.
struct ReadOptions {
  // Also verify the weights blob's checksum (touches every page of a mapped file).
  bool verify_weights = false;
  // Verify the header, section table and structural section checksums (always on in
  // production). Only the fuzzer and corruption tests turn this off, to reach the parser behind
  // the checksums; the parser is safe on any bytes either way.
  bool verify_checksums = true;
};
Result<ModelDef> read_model(const uint8_t* data, size_t size, const ReadOptions& options = {});

// Serialises `m` (validated the same way first) into `out`.
Status write_model(const ModelDef& m, std::vector<uint8_t>* out);

// ---- additions (format owner) ----------------------------------------------------------------

// What the header and section table say (for `qrt inspect`); validates the header, the table
// and the section bounds, not the sections' contents.
struct SectionInfo {
  uint32_t kind = 0;            // SectionKind (qrt/format.h); may be unknown
  uint32_t flags = 0;
  uint64_t offset = 0, size = 0;
  uint32_t crc32c = 0;
};
struct FileInfo {
  uint32_t format_major = 0, format_minor = 0;
  uint32_t flags = 0;
  uint64_t file_size = 0;
  uint64_t section_table_offset = 0;
  std::vector<SectionInfo> sections;
};
Result<FileInfo> read_file_info(const uint8_t* data, size_t size, bool verify_checksums = true);

// Checks everything about `m` that does not depend on the bytes of a file: dtypes, shapes,
// names, quantization parameters, attribute types, graph structure. read_model and write_model
// both call it.
Status validate_model(const ModelDef& m);

// Elements of a shape with all dims >= 0; false if a dim is negative or the count overflows.
bool shape_numel(const std::vector<int64_t>& shape, uint64_t* numel);

// Writes the serialised model to `path` (replacing it).
Status write_model_file(const ModelDef& m, const std::string& path);

}  // namespace qrt::format
