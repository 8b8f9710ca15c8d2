// The c4 packed layout (see gemm_u8s8_pack.h). Runs once per weight tensor at model load.
#include "kernels/gemm_u8s8_pack.h"

#include <cstring>

namespace qrt::kernels::gemm_u8s8_internal {

size_t packed_size_c4(size_t N, size_t K, size_t nr) {
  return colsum_bytes(N, nr) + round_up(N, nr) / nr * panel_bytes(K, nr);
}

void pack_c4(size_t N, size_t K, const int8_t* B, size_t ldb, void* packed, size_t nr) {
  // Portable version (the x86 kernels use the register-transpose packers in
  // x86/gemm_u8s8_pack_avx2.h / _avx512.h): one 4-byte group per copy, no division per byte.
  uint8_t* base = static_cast<uint8_t*>(packed);
  std::memset(base, 0, packed_size_c4(N, K, nr));
  int32_t* colsum = reinterpret_cast<int32_t*>(base);
  uint8_t* panels = base + colsum_bytes(N, nr);
  const size_t pbytes = panel_bytes(K, nr), kfull = K / 4, kt = K % 4;
  for (size_t n = 0; n < N; ++n) {
    const int8_t* row = B + n * ldb;
    uint32_t sum = 0;  // modulo 2^32, as the contract says (cannot wrap for K <= 2^24)
    for (size_t k = 0; k < K; ++k) sum += static_cast<uint32_t>(static_cast<int32_t>(row[k]));
    uint8_t* dst = panels + (n / nr) * pbytes + (n % nr) * 4;
    for (size_t g = 0; g < kfull; ++g) std::memcpy(dst + g * nr * 4, row + 4 * g, 4);
    if (kt) std::memcpy(dst + kfull * nr * 4, row + 4 * kfull, kt);
    colsum[n] = static_cast<int32_t>(sum);
  }
}

size_t packed_size_c4_nr8(size_t N, size_t K) { return packed_size_c4(N, K, 8); }
size_t packed_size_c4_nr16(size_t N, size_t K) { return packed_size_c4(N, K, 16); }
size_t packed_size_c4_nr32(size_t N, size_t K) { return packed_size_c4(N, K, 32); }
size_t packed_size_c4_nr64(size_t N, size_t K) { return packed_size_c4(N, K, 64); }
void pack_c4_nr8(size_t N, size_t K, const int8_t* B, size_t ldb, void* p) { pack_c4(N, K, B, ldb, p, 8); }
void pack_c4_nr16(size_t N, size_t K, const int8_t* B, size_t ldb, void* p) { pack_c4(N, K, B, ldb, p, 16); }
void pack_c4_nr32(size_t N, size_t K, const int8_t* B, size_t ldb, void* p) { pack_c4(N, K, B, ldb, p, 32); }
void pack_c4_nr64(size_t N, size_t K, const int8_t* B, size_t ldb, void* p) { pack_c4(N, K, B, ldb, p, 64); }

}  // namespace qrt::kernels::gemm_u8s8_internal
