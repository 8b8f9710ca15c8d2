// The shape op group: ONNX-semantics data movement and shape arithmetic
// (docs/ARCHITECTURE.md, "Operators in a .qmodel").
#include "ops/shape_ops.h"
#include "runtime/op.h"

namespace qrt::rt {
void register_shape_ops(OpRegistry& r) {
  ops::register_reshape_ops(r);
  ops::register_transpose_ops(r);
  ops::register_concat_ops(r);
  ops::register_index_ops(r);
  ops::register_generate_ops(r);
}
}  // namespace qrt::rt
