"""What each mode does to each op type (the quantizer's {op_type: role} registry).

Static int8 roles:
- ``compute``: Conv2d, Dense — u8 X, s8 W (per axis 0), s32 B, u8 Y; needs a constant weight.
- ``same_params``: data movement and pooling that run on u8 with the output's parameters equal
  to the input's (MaxPool2d, AvgPool2d, GlobalAvgPool2d, Reshape, Flatten, Transpose, Squeeze,
  Unsqueeze, DepthToSpace, SpaceToDepth, Relu, nearest Resize); quantized when their input already is u8, so int8 runs stay int8.
- ``concat``: Concat on u8, all inputs and the output sharing one set of parameters.
- ``binary``: Add, Mul on u8, requantized to the output's own parameters.
Everything else runs in float32 and receives dequantized inputs.
"""

from __future__ import annotations

MODES = ("int8", "int8-dynamic", "int8-weight", "fp16", "bf16", "fp32")

STATIC_ROLES = {
    "Conv2d": "compute",
    "Dense": "compute",
    "MaxPool2d": "same_params",
    "AvgPool2d": "same_params",
    "GlobalAvgPool2d": "same_params",
    "Reshape": "same_params",
    "Flatten": "same_params",
    "Transpose": "same_params",
    "Squeeze": "same_params",
    "Unsqueeze": "same_params",
    "DepthToSpace": "same_params",
    "SpaceToDepth": "same_params",
    # A Relu that could not fuse into a Conv2d/Dense (after a residual Add) stays in u8: with the
    # input's parameters it is q = max(q, zero_point).
    "Relu": "same_params",
    "Concat": "concat",
    "Add": "binary",
    "Mul": "binary",
}



def static_role(node) -> str | None:
    """The node's static int8 role: STATIC_ROLES by op type, and a nearest Resize moves u8
    values unchanged (each output element is one input element), so it keeps its input's
    parameters like the data-movement ops; linear and cubic Resize run in f32."""
    if node.op == "Resize" and str(node.attrs.get("mode", "nearest")) == "nearest":
        return "same_params"
    return STATIC_ROLES.get(node.op)


# Conv2d/Dense whose output only float ops read keep a f32 output in static int8 (u8 X with
# calibrated params, s8 W, f32 B -> f32 Y: the GEMM's kDequantF32 epilogue). Off: every int8
# Conv2d/Dense requantizes to u8 and a DequantizeLinear follows.
STATIC_FLOAT_OUTPUT = True

# Op types a user may write in `exclude` for the qrt op they became.
ONNX_ALIASES = {
    "Gemm": "Dense", "MatMul": "Dense", "Conv": "Conv2d", "MaxPool": "MaxPool2d",
    "AveragePool": "AvgPool2d", "GlobalAveragePool": "GlobalAvgPool2d",
}

# Op types the runtime executes (docs/ARCHITECTURE.md, "Operators in a .qmodel").
RUNTIME_OPS = set("""
Add Sub Mul Div Pow Sqrt Neg Exp Log Abs Min Max Relu LeakyRelu Clip Sigmoid Tanh Erf Gelu
HardSigmoid HardSwish Softmax LayerNormalization BatchNormalization MatMul ReduceMean ReduceSum
ReduceL2 Reshape Flatten Transpose Concat Slice Gather Squeeze Unsqueeze Split Expand Where
Shape Cast Range Equal ConstantOfShape Identity Silu Tile
Less Greater LessOrEqual GreaterOrEqual And Or Xor Not Floor Ceil Round Reciprocal
ReduceMax ReduceMin Size CastLike Mod Sum LogSoftmax GatherElements Pad
ReduceProd ReduceL1 ReduceSumSquare ReduceLogSum ReduceLogSumExp ArgMax ArgMin
Elu Selu Celu Softplus Softsign Mish ThresholdedRelu Swish Sin Cos Sign Resize
InstanceNormalization DepthToSpace SpaceToDepth ConvTranspose PRelu CumSum TopK LSTM GRU RNN
ScatterND ScatterElements Trilu
Conv2d Dense MaxPool2d AvgPool2d GlobalAvgPool2d QuantizeLinear DequantizeLinear
""".split())
