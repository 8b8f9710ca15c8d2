// The float op group: ONNX-semantics compute ops (docs/ARCHITECTURE.md, "Operators in a .qmodel").
#include "ops/float_ops.h"
#include "runtime/op.h"

namespace qrt::rt {
void register_float_ops(OpRegistry& r) {
  ops::register_elementwise_ops(r);
  ops::register_activation_ops(r);
  ops::register_norm_ops(r);
  ops::register_matmul_ops(r);
  ops::register_reduce_ops(r);
  ops::register_cast_ops(r);
  ops::register_attention_ops(r);
  ops::register_resize_ops(r);
  ops::register_conv_transpose_ops(r);
  ops::register_scan_topk_ops(r);
  ops::register_scatter_ops(r);
  ops::register_rnn_ops(r);
}
}  // namespace qrt::rt
