// Internal: the "c4" packed weight layout shared by the SIMD gemm_u8s8 variants.
//
//   [colsum: int32 x round_up(N, nr), zero beyond N; region padded to a multiple of 64 bytes]
//   [panel p = 0 .. ceil(N/nr)-1, each panel_bytes(K, nr) long:
//      for each group g = 0 .. ceil(K/4)-1 of four k's: nr x 4 bytes,
//        byte (j*4 + t) = B[p*nr + j][4g + t], zero where p*nr+j >= N or 4g+t >= K]
//
// One 16-column x 4-k block is 64 contiguous bytes: exactly a zmm operand of vpdpbusd (two ymm for
// AVX-VNNI; sign-extended to int16 pairs for the vpmaddwd variants). Zero padding makes the
// padded columns / k's contribute nothing, so kernels may compute whole panels and whole k-groups
// and only mask the loads of A and the stores of C.
// Everything here is portable code (compiled for baseline x86-64); the helpers below have internal
// linkage so that no ISA translation unit can leak its copy into baseline callers (ODR).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels::gemm_u8s8_internal {

namespace {
constexpr size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }
constexpr size_t k_groups(size_t K) { return (K + 3) / 4; }
constexpr size_t colsum_bytes(size_t N, size_t nr) { return round_up(round_up(N, nr) * 4, 64); }
constexpr size_t panel_bytes(size_t K, size_t nr) { return k_groups(K) * nr * 4; }
}  // namespace

size_t packed_size_c4(size_t N, size_t K, size_t nr);
void pack_c4(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed, size_t nr);

// Fixed-nr wrappers used as GemmU8S8Kernel::packed_size / pack.
size_t packed_size_c4_nr8(size_t N, size_t K);
size_t packed_size_c4_nr16(size_t N, size_t K);
size_t packed_size_c4_nr32(size_t N, size_t K);
size_t packed_size_c4_nr64(size_t N, size_t K);
void pack_c4_nr8(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed);
void pack_c4_nr16(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed);
void pack_c4_nr32(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed);
void pack_c4_nr64(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed);

}  // namespace qrt::kernels::gemm_u8s8_internal
