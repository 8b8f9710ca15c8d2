// Test and fuzz helpers for the .qmodel format (not used by the runtime).
#pragma once

#include <cstdint>
#include <vector>

#include "format/model_def.h"

namespace qrt::format {

// write_model without validate_model: serialises a model that breaks the semantic rules
// (duplicate names, bad order, bad quantization, ...) so that tests can check the reader refuses
// it. Structural limits (counts, string sizes) and constant data pointers are still checked.
Status write_model_unchecked(const ModelDef& m, std::vector<uint8_t>* out);

// Recomputes every checksum of a file image in place (section CRCs for sections that lie inside
// the buffer, the section table CRC, the header CRC), so that a test or fuzzer edit reaches the
// parser behind them. Does nothing where the header itself is unreadable.
void refresh_checksums(std::vector<uint8_t>* file);

}  // namespace qrt::format
