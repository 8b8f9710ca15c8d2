// Registration entry points of the shape op group's files (called by register_shape_ops in
// ops/shape_ops_registry.cc). These ops are dtype-agnostic where ONNX allows: u8/s8 activations
// of quantized models pass through them and keep their quantization parameters (the converter
// writes the same record on both sides; infer() refuses a file where they differ). Internal.
#pragma once

#include "runtime/op.h"

namespace qrt::rt::ops {
void register_reshape_ops(OpRegistry& r);    // shape_reshape.cc: Reshape Flatten Squeeze Unsqueeze
void register_transpose_ops(OpRegistry& r);  // shape_transpose.cc: Transpose DepthToSpace SpaceToDepth
void register_concat_ops(OpRegistry& r);     // shape_concat_split.cc: Concat Split
void register_index_ops(OpRegistry& r);      // shape_slice_gather.cc: Slice Gather
void register_generate_ops(OpRegistry& r);   // shape_generate.cc: Shape Range ConstantOfShape Expand Tile
}  // namespace qrt::rt::ops
