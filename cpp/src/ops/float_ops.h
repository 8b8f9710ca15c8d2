// Registration entry points of the float op group's files (called by register_float_ops in
// ops/float_ops_registry.cc). Internal to cpp/src/ops.
#pragma once

#include "runtime/op.h"

namespace qrt::rt::ops {
void register_elementwise_ops(OpRegistry& r);  // float_elementwise.cc: Add Sub Mul Div Pow Min Max Equal Where
void register_activation_ops(OpRegistry& r);   // float_activation.cc: Sqrt Neg Exp ... HardSwish Clip
void register_norm_ops(OpRegistry& r);         // float_norm.cc: Softmax LayerNormalization BatchNormalization InstanceNormalization
void register_matmul_ops(OpRegistry& r);       // float_matmul.cc: MatMul
void register_reduce_ops(OpRegistry& r);       // float_reduce.cc: ReduceMean ReduceSum ReduceL2
void register_cast_ops(OpRegistry& r);         // float_cast.cc: Cast Identity
void register_attention_ops(OpRegistry& r);    // float_attention.cc: Attention (qrt op)
void register_resize_ops(OpRegistry& r);       // float_resize.cc: Resize
void register_conv_transpose_ops(OpRegistry& r);  // float_conv_transpose.cc: ConvTranspose
void register_scan_topk_ops(OpRegistry& r);    // float_scan_topk.cc: CumSum TopK
void register_scatter_ops(OpRegistry& r);      // scatter.cc: ScatterND ScatterElements
void register_rnn_ops(OpRegistry& r);          // float_rnn.cc: LSTM GRU RNN
}  // namespace qrt::rt::ops
