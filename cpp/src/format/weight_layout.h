// Packed weight layouts a .qmodel may store a constant in (format 1.1, docs/FORMAT.md §3.2.1).
//
// A constant is either plain (row-major elements, every version) or, since 1.1, stored in the
// layout an int8 GEMM micro-kernel reads, so that the runtime can use the bytes in place from
// the memory map instead of packing them at load. The layout is a permutation of the plain
// bytes plus derived data (column sums, zero padding): a runtime whose kernel wants another
// layout unpacks and repacks, and the Python reader returns plain arrays, so a packed file is
// as portable as a plain one.
//
// kC4 ("c4/<nr>"), for s8 weights of shape [N, d1, ...] read as an N x K matrix (K = d1 x ...):
//   [colsum: int32 little-endian x round_up(N, nr); zero beyond N; region padded to 64 bytes]
//   [panel p = 0 .. ceil(N/nr)-1: for each group g = 0 .. ceil(K/4)-1 of four k's:
//      nr x 4 bytes, byte (j*4 + t) = B[p*nr + j][4g + t], zero where p*nr+j >= N or 4g+t >= K]
// nr is 8, 16, 32 or 64: the layout of the x86 and ARM gemm_u8s8 kernels of that nr
// (kernels/gemm_u8s8.h; tests/cpp/format/weight_layout_test.cc checks every such kernel's
// pack() against pack_c4 below, byte for byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "format/model_def.h"

namespace qrt::format {

bool c4_nr_valid(uint32_t nr);  // 8, 16, 32 or 64
// "plain" or "c4/<nr>"; parse accepts the same spellings.
std::string layout_name(WeightLayout layout, uint32_t nr);
bool parse_layout(const std::string& s, WeightLayout* layout, uint32_t* nr);

// Bytes of an N x K matrix in c4/nr; false if that overflows 64 bits.
bool c4_packed_bytes(uint64_t N, uint64_t K, uint32_t nr, uint64_t* bytes);

// The N x K view of a constant's shape ([N, d1, ...]); false for rank < 2 or a zero dimension.
bool c4_matrix_dims(const std::vector<int64_t>& shape, uint64_t* N, uint64_t* K);

// B (N x K s8, rows contiguous) -> c4/nr bytes (c4_packed_bytes of them, every byte written).
void pack_c4(size_t N, size_t K, uint32_t nr, const int8_t* B, uint8_t* out);
// c4/nr bytes -> B (N x K s8). Reads only the panels (not the column sums or the padding).
void unpack_c4(size_t N, size_t K, uint32_t nr, const uint8_t* packed, int8_t* out);
// For verify_weights: the stored column sums equal the weights' and every padding byte is zero.
// Returns "" when consistent, otherwise what differs.
std::string check_c4(size_t N, size_t K, uint32_t nr, const uint8_t* packed);

// The plain (row-major) bytes of a constant: its data as is when plain, unpacked into *storage
// otherwise. The returned pointer is valid while both `t` and *storage are.
const uint8_t* plain_data(const TensorDef& t, std::vector<uint8_t>* storage);
// Makes `t` plain: a packed constant is unpacked into *storage (which must outlive `t`'s use)
// and its record rewritten to say so; a plain one is left as it is.
void make_plain(TensorDef* t, std::vector<uint8_t>* storage);

}  // namespace qrt::format
