// Model internals shared by model.cc and session.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "format/model_def.h"
#include "qrt/qrt.h"
#include "runtime/op.h"
#include "runtime/weight_slab.h"

namespace qrt {

struct Model::Impl {
  std::shared_ptr<const void> storage;  // keeps the mmap / aligned copy alive (weights point into it)
  // Mapped files: constants that ops read at run time, copied out of the mapping (see model.cc).
  std::shared_ptr<void> run_constants;
  // Plain copies of packed tensors that ops other than Dense/Conv2d read (see model.cc).
  std::vector<std::vector<uint8_t>> unpacked;
  size_t file_bytes = 0;
  format::ModelDef def;
  std::unique_ptr<rt::WeightSlab> slab;      // declared before ops: outlives the ops' packed weights
  std::vector<std::unique_ptr<rt::Op>> ops;  // one per node
  std::vector<TensorInfo> inputs, outputs;
  size_t packed_bytes = 0;
  size_t in_place_bytes = 0;
};

}  // namespace qrt
