// qrt/format.h — the on-disk layout of a .qmodel file, format version 1.0 (normative).
//
// This header and docs/FORMAT.md are the specification; they describe the same bytes. The only
// code that reads or writes these bytes is cpp/src/format/{reader,writer}.cc (the Python converter
// reaches the writer through the binding), so there is exactly one implementation of the layout.
//
// ---------------------------------------------------------------------------------------------
// General rules
// ---------------------------------------------------------------------------------------------
// * All integers and floats are little-endian; floats are IEEE-754 binary32. Structs below are
//   the exact byte images (no implicit padding: each has a static_assert on its size and the
//   fields are laid out in the order written). Readers decode fields with explicit little-endian
//   loads, never by casting a file pointer, so no alignment is assumed for structural data.
// * "offset" fields are absolute byte offsets from the first byte of the file.
// * Reserved fields and padding are written as zero and ignored by readers (a later minor
//   version may give them a meaning that older readers can safely ignore).
// * Strings are UTF-8, not NUL-terminated, stored once in the strings section and referenced
//   everywhere by a u32 index into it.
// * A file is one header, one section table and a set of sections:
//
//     +--------------------------------+  offset 0
//     | FileHeader (64 bytes)          |
//     +--------------------------------+  header.section_table_offset (v1 writer: 64)
//     | SectionEntry[section_count]    |
//     +--------------------------------+  each section starts at a multiple of 8
//     | strings | tensors | nodes |    |
//     | graph | metadata  (structural) |
//     +--------------------------------+  a multiple of 64
//     | weights blob                   |  every constant's bytes at a multiple of 64 from the
//     +--------------------------------+  start of the FILE, so an mmap is usable in place
//                                         header.file_size == the file's length
//
//   Writers produce this order; readers accept the sections in any order and anywhere after the
//   header, provided no two of them overlap and none overlaps the header or section table.
//
// ---------------------------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF, final XOR
// 0xFFFFFFFF; crc32c("123456789") == 0xE3069283), the checksum of iSCSI, ext4 and SSE4.2's
// `crc32` instruction. Three kinds:
// * header.header_crc32c: over the header's `header_size` bytes with the header_crc32c field
//   itself taken as zero. Verified at every load.
// * header.section_table_crc32c: over the section_count * section_entry_size bytes of the table.
//   Verified at every load.
// * SectionEntry.crc32c: over the section's `size` bytes. Verified at every load for every
//   section EXCEPT the weights blob: checking the weights touches every page of a memory-mapped
//   file, which would make open time proportional to model size (and fault the whole model into
//   memory before the first inference). The weights checksum is always written and is verified
//   only when the caller asks (ReadOptions::verify_weights; `qrt inspect --verify`, CI, after a
//   download). Unknown sections that are skipped are not checksummed.
//
// ---------------------------------------------------------------------------------------------
// Versioning
// ---------------------------------------------------------------------------------------------
// * format_major changes only when an old reader could misread a new file. A reader refuses a
//   file whose major is newer than its own: "format version X.Y is newer than this runtime
//   (max A.B); upgrade qrt". Major 0 is never valid.
// * format_minor changes for additive, backward-compatible changes: new optional sections, new
//   compatible flag bits, fields appended to the header / section entries / tensor and node
//   records (their sizes are stored: header_size, section_entry_size, record_size), new enum
//   values that only new writers emit. A reader accepts any minor of its major.
// * Enum values below are stored in files: never renumber them; retired values stay reserved.
// * Header flags: bits 0..15 are "compatible" (a reader ignores unknown ones), bits 16..31 are
//   "incompatible" (a reader refuses a file with an unknown one set). 1.1 defines
//   kHeaderPackedWeights.
// * Sections: an unknown section kind is skipped when its kSectionRequired flag is clear and
//   refused when it is set.
// * Which operators and attributes exist is not part of the structural version: each node
//   carries its own op version (as TFLite's OperatorCode.version), and producer information is
//   metadata (keys "producer", "producer_version", "source_sha256", ...).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::format {

// ---- identification -------------------------------------------------------------------------

// "\x89QMD\r\n\x1a\n": a non-ASCII first byte and CR LF / LF / ^Z detect text-mode transfers
// and truncated copies, as in PNG's signature.
constexpr uint8_t kMagic[8] = {0x89, 'Q', 'M', 'D', 0x0D, 0x0A, 0x1A, 0x0A};
constexpr uint16_t kFormatMajor = 1;
constexpr uint16_t kFormatMinor = 1;  // the newest minor this code reads and writes

// Required alignment, from the start of the file, of the weights section and of every constant
// tensor's data (a cache line, and enough for any SIMD load).
constexpr uint64_t kWeightsAlignment = 64;
// Alignment of every section's start (writers); readers do not require it.
constexpr uint64_t kSectionAlignment = 8;

// Limits a reader enforces (sizes are bounded by the file anyway; these keep the runtime sane).
constexpr uint32_t kMaxRank = 16;
constexpr uint32_t kMaxSections = 256;

// ---- header ---------------------------------------------------------------------------------

// Header flag bits.
constexpr uint32_t kHeaderIncompatibleFlagsMask = 0xFFFF0000u;
// 1.1, incompatible: some constant is stored in a packed layout (TensorRecord.layout != 0), so a
// 1.0 reader, which would take those bytes for row-major elements, must refuse the file. Set by
// writers exactly when a tensor is packed; such files also use records of >= 40 bytes.
constexpr uint32_t kHeaderPackedWeights = 1u << 16;
constexpr uint32_t kHeaderKnownIncompatibleFlags = kHeaderPackedWeights;

struct FileHeader {                 // at offset 0
  uint8_t magic[8];                 // kMagic
  uint16_t format_major;            // kFormatMajor
  uint16_t format_minor;            // kFormatMinor
  uint32_t flags;                   // see above
  uint32_t header_size;             // sizeof(FileHeader) in v1; >= 64 in any version
  uint32_t section_count;           // entries in the section table, <= kMaxSections
  uint64_t file_size;               // exact length of the file in bytes
  uint64_t section_table_offset;    // absolute; >= header_size
  uint32_t section_entry_size;      // sizeof(SectionEntry) in v1; >= 32 in any version
  uint32_t section_table_crc32c;    // CRC-32C of the section table
  uint32_t reserved[3];
  uint32_t header_crc32c;           // CRC-32C of the header_size header bytes, this field as 0
};
static_assert(sizeof(FileHeader) == 64, "FileHeader is 64 bytes on disk");
constexpr size_t kHeaderCrcOffset = 60;

// ---- section table --------------------------------------------------------------------------

// Section kinds. Stored in files: never renumber, only append.
enum class SectionKind : uint32_t {
  kStrings = 1,    // required, exactly one
  kTensors = 2,    // required, exactly one
  kNodes = 3,      // required, exactly one
  kGraph = 4,      // required, exactly one
  kMetadata = 5,   // optional, at most one
  kWeights = 6,    // required, exactly one (may be empty)
};
const char* section_kind_name(uint32_t kind);  // "strings", ..., "unknown"

// SectionEntry.flags bits.
constexpr uint32_t kSectionRequired = 1u << 0;  // a reader that does not know the kind refuses

struct SectionEntry {
  uint32_t kind;                    // SectionKind
  uint32_t flags;                   // kSectionRequired; other bits reserved
  uint64_t offset;                  // absolute
  uint64_t size;                    // bytes
  uint32_t crc32c;                  // CRC-32C of the section's bytes
  uint32_t reserved;
};
static_assert(sizeof(SectionEntry) == 32, "SectionEntry is 32 bytes on disk");

// ---- strings section ------------------------------------------------------------------------
//   StringsHeader
//   uint32_t end[count]     end[i] = byte offset, within `bytes`, one past string i's last byte;
//                           string i spans [i ? end[i-1] : 0, end[i]); non-decreasing
//   uint8_t  bytes[]        all strings concatenated; size == end[count-1] (0 if count == 0);
//                           each string is valid UTF-8
//   zero padding to the section size (< 8 bytes)
struct StringsHeader {
  uint32_t count;
  uint32_t reserved;
};
static_assert(sizeof(StringsHeader) == 8, "");

// ---- tensors section ------------------------------------------------------------------------
//   RecordsHeader  (record_size >= sizeof(TensorRecord), a multiple of 8)
//   count times:
//     TensorRecord          (record_size bytes: the struct, then fields of later minor versions)
//     int64_t  dims[rank]                 -1 = dynamic, otherwise >= 0
//     uint32_t dim_names[rank]            only if kTensorHasDimNames; string indices ("" = none)
//     float    scales[quant_count]        quantization, see QuantParams in model_def.h
//     int32_t  zero_points[quant_count]
//     zero padding to a multiple of 8 bytes (from the record's start)
struct RecordsHeader {
  uint32_t count;
  uint32_t record_size;
};
static_assert(sizeof(RecordsHeader) == 8, "");

// TensorRecord.flags bits.
constexpr uint8_t kTensorConstant = 1u << 0;      // data in the weights blob
constexpr uint8_t kTensorHasDimNames = 1u << 1;   // dim_names array present
constexpr uint8_t kTensorKnownFlags = kTensorConstant | kTensorHasDimNames;

struct TensorRecord {
  uint32_t name;                    // string index; non-empty, unique among tensors
  uint8_t dtype;                    // DType (model_def.h); kUndefined is invalid
  uint8_t flags;                    // kTensor*; unknown bits refused
  uint16_t rank;                    // <= kMaxRank
  uint64_t data_offset;             // constants: absolute, multiple of kWeightsAlignment, inside
                                    // the weights section; non-constants: 0
  uint64_t data_size;               // constants: numel * dtype_size; non-constants: 0
  int32_t quant_axis;               // -1: per tensor (quant_count is 0 or 1); else 0 <= axis < rank
  uint32_t quant_count;             // 0: not quantized; else scales/zero points stored
};
static_assert(sizeof(TensorRecord) == 32, "TensorRecord is 32 bytes on disk");

// Appended to TensorRecord in 1.1 (present when record_size >= 40; a reader of a file with
// smaller records takes both as 0). Writers use 40-byte records only in files that pack a tensor,
// so files without packed weights stay byte-identical to 1.0 ones.
struct TensorRecordV1_1 {
  uint32_t layout;                  // WeightLayout (format/weight_layout.h): 0 plain, 1 c4
  uint32_t layout_param;            // c4: nr (8, 16, 32 or 64); plain: 0
};
static_assert(sizeof(TensorRecord) + sizeof(TensorRecordV1_1) == 40, "1.1 tensor records are 40 bytes");
// A writer that packs leaves at least this many zero bytes after the last packed tensor's data
// inside the weights section, so that kernels reading whole tiles past a panel's end (AMX) can
// use the bytes in place. Readers do not rely on it: the runtime checks and copies otherwise.
constexpr uint64_t kPackedTailBytes = 4096;

// ---- nodes section --------------------------------------------------------------------------
//   RecordsHeader  (record_size >= sizeof(NodeRecord), a multiple of 8)
//   count times, in execution (topological) order:
//     NodeRecord            (record_size bytes)
//     int32_t  inputs[input_count]        tensor indices; -1 = absent optional input
//     int32_t  outputs[output_count]      tensor indices
//     zero padding to a multiple of 8 bytes (from the record's start)
//     attr_count times:
//       AttrRecord
//       kInts:   int64_t values[AttrRecord.value]
//       kFloats: float   values[AttrRecord.value], zero padding to a multiple of 8
struct NodeRecord {
  uint32_t op_type;                 // string index; non-empty (docs/FORMAT.md "Operators")
  uint32_t name;                    // string index; may be ""
  uint16_t op_version;              // >= 1
  uint16_t reserved;
  uint32_t input_count;
  uint32_t output_count;
  uint32_t attr_count;
};
static_assert(sizeof(NodeRecord) == 24, "NodeRecord is 24 bytes on disk");

// AttrRecord.type: AttrType (model_def.h): kInt = 1, kFloat = 2, kString = 3, kInts = 4,
// kFloats = 5. Stored in files: never renumber, only append.
struct AttrRecord {
  uint32_t name;                    // string index; non-empty, unique within the node
  uint8_t type;                     // AttrType
  uint8_t reserved[3];
  uint64_t value;                   // kInt: the int64 value (two's complement)
                                    // kFloat: the float's bits in the low 32 bits
                                    // kString: a string index
                                    // kInts, kFloats: the element count
};
static_assert(sizeof(AttrRecord) == 16, "AttrRecord is 16 bytes on disk");

// ---- graph section --------------------------------------------------------------------------
//   GraphHeader
//   int32_t inputs[input_count]         non-constant tensors, no duplicates
//   int32_t outputs[output_count]       tensors produced by a node, no duplicates
//   zero padding to a multiple of 8
struct GraphHeader {
  uint32_t input_count;
  uint32_t output_count;
};
static_assert(sizeof(GraphHeader) == 8, "");

// ---- metadata section -----------------------------------------------------------------------
//   RecordsHeader  (record_size >= sizeof(MetadataRecord), a multiple of 8)
//   count times: MetadataRecord (key/value string indices; keys unique and non-empty)
struct MetadataRecord {
  uint32_t key;
  uint32_t value;
};
static_assert(sizeof(MetadataRecord) == 8, "");

// ---- weights section ------------------------------------------------------------------------
// Raw bytes. Starts at a multiple of kWeightsAlignment. Each constant tensor's bytes (row-major,
// little-endian elements; bf16 as its upper 16 bits of the f32 pattern; bool as one byte, 0 or 1)
// lie at [data_offset, data_offset + data_size) within the section. Gaps are zero padding.
// Constants may share bytes (a writer may deduplicate identical data).

}  // namespace qrt::format
