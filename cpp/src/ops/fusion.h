// Load-time fusion: Model::load runs fuse_ops() after creating the ops (unless
// LoadOptions::fuse_ops is false). Each pass replaces a producer and the one consumer of its
// output by a single op that computes the consumer's output with the same kernels, so the result
// is bit-identical to running the two nodes; what goes away is the intermediate tensor (its arena
// bytes and its trip through memory). The fused node takes the consumer's place, reads the
// producer's inputs and is named "<producer name> + <consumer name>"; the producer node is
// removed. The file and its graph are unchanged (per-layer accuracy, `qrt inspect`).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "format/model_def.h"
#include "runtime/op.h"

namespace qrt::rt {

// The loop every pass shares. For each node j whose input 0 is tensor t, written by node i (one
// output) and read by nothing else (not a graph output either), `make(i, j, t)` returns the fused
// op, built from ops[i] and ops[j] (moved out), or null to leave the pair alone. A fused op takes
// node j's place with node i's inputs and the name "<i name> + <j name>"; node i is removed.
// Returns the number of pairs fused.
size_t fuse_pairs(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops,
                  const std::function<std::unique_ptr<Op>(size_t i, size_t j, int32_t t)>& make);

// Each 1x1 Conv2d (u8 -> u8) whose output is read only by a u8 depthwise Conv2d becomes one op
// that runs both in strips of rows (conv2d.cc, DwBlockOp).
size_t fuse_expand_depthwise(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops);
// Then each u8 depthwise Conv2d (fused with its expansion or not) whose output is read only by a
// 1x1 Conv2d (u8 -> u8, the projection) takes that convolution into its strips too.
size_t fuse_depthwise_project(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops);

// Each f32 Transpose whose output is read only by a QuantizeLinear to u8 (a CNN's NCHW input
// going to NHWC u8) becomes one op that transposes tiles into a small buffer and quantizes each
// tile into the u8 output (shape_transpose.cc, TransposeQuantizeOp).
size_t fuse_transpose_quantize(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops);

// Whether `op` is a QuantizeLinear to u8, with its per-tensor scale and zero point if so.
bool quantize_u8_params(const Op& op, float* scale, int32_t* zero_point);

// Every pass above; returns the number of pairs fused.
size_t fuse_ops(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops);

}  // namespace qrt::rt
