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
inline void amx_load_config(int r0, int r1) {
  AmxTileConfig c;
  std::memset(&c, 0, sizeof c);
  c.palette = 1;
  const uint8_t rows[8] = {uint8_t(r0), uint8_t(r0), uint8_t(r1), uint8_t(r1),
                           uint8_t(r0), uint8_t(r1), 16, 16};
  for (int t = 0; t < 8; ++t) {
    c.rows[t] = rows[t];
    c.colsb[t] = rows[t] ? 64 : 0;
  }
  _tile_loadconfig(&c);
}

}  // namespace
}  // namespace qrt::kernels
