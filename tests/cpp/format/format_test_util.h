// Shared helpers for the .qmodel format tests: a small model that uses every dtype, attribute
// type and quantization kind, and structural comparison.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/model_def.h"

namespace qrt_format_test {

// Owns the constant bytes the ModelDef points to.
struct SampleModel {
  std::vector<std::vector<uint8_t>> blobs;
  qrt::format::ModelDef def;
};
SampleModel make_sample_model();
std::vector<uint8_t> sample_file();  // write_model(make_sample_model())

// Empty string when equal, else the first difference.
std::string diff_models(const qrt::format::ModelDef& a, const qrt::format::ModelDef& b);

}  // namespace qrt_format_test
