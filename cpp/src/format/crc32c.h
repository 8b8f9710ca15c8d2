// CRC-32C (Castagnoli), the checksum of the .qmodel format (see qrt/format.h).
// Software slicing-by-8 everywhere; on x86-64 the SSE4.2 `crc32` instruction is used when the CPU
// has it (chosen at run time; the function is compiled with a target attribute, so no build flag
// beyond the baseline is needed).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::format {

// Extends `crc` (the value returned for the bytes before; 0 to start) over [data, data+size).
// crc32c("123456789", 9) == 0xE3069283.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
// The portable implementation (tests compare the two).
uint32_t crc32c_sw(const void* data, size_t size, uint32_t crc = 0);
// True when crc32c() uses the hardware instruction.
bool crc32c_hw_available();

}  // namespace qrt::format
