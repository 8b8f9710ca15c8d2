// Tile configuration shared by the AMX kernels (gemm_u8s8_amx.cc, gemm_f32bf16_amx.cc): palette 1,
// tmm0-3 = C (C00 C01 / C10 C11), tmm4/5 = the two A row tiles, tmm6/7 = the two B tiles, every
// row 64 bytes. Only for files compiled with the AMX flags; internal linkage for the same reason
// as thread_scratch.h (no cross-ISA merging of inline code by the linker).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace qrt::kernels {
namespace {

struct alignas(64) AmxTileConfig {
  uint8_t palette;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(AmxTileConfig) == 64, "ldtilecfg reads 64 bytes");

// r0 rows in the first row tile (A0, C00, C01), r1 in the second (A1, C10, C11); 0 = unused.
// ak: bytes per row of the A tiles (a multiple of 4, <= 64); the B tiles get ak / 4 rows (k-groups
// of 4 bytes for tdpbusd, pairs of bf16 for tdpbf16ps). Below 64 only for the int8 kernel's
// whole-K single step (K < 64, K % 4 == 0: A tiles straight from A, no zero-padded copy).
inline void amx_load_config(int r0, int r1, int ak = 64) {
  AmxTileConfig c;
  std::memset(&c, 0, sizeof c);
  c.palette = 1;
  const uint8_t rows[8] = {uint8_t(r0), uint8_t(r0), uint8_t(r1),     uint8_t(r1),
                           uint8_t(r0), uint8_t(r1), uint8_t(ak / 4), uint8_t(ak / 4)};
  const uint16_t colsb[8] = {64, 64, 64, 64, uint16_t(ak), uint16_t(ak), 64, 64};
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = rows[t];
    c.colsb[t] = rows[t] ? colsb[t] : 0;
  }
  _tile_loadconfig(&c);
}

}  // namespace
}  // namespace qrt::kernels
