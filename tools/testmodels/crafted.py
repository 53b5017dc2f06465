#!/usr/bin/env python3
"""Writes tests/data/crafted/: small TFLite models that are well-formed FlatBuffers but whose
contents lie (a bias shorter than the channels, a batch that disagrees, scales and zero points
outside any sensible range, options near 2^31, ...), plus the honest model each lie was made
from.

Every lie must be refused by tinydeploy's lowering with one clear message before any kernel
runs; every honest model must run. `manifest.json` lists each file with the operator the check
concerns, the finding it reproduces and the text the refusal must contain (null for the honest
models). tests/lowering/test_crafted_models.py runs `tinydeploy run` and `tinydeploy generate`
on every one.

Needs only numpy, flatbuffers and the TFLite schema module of ai-edge-litert (all in the
project's virtual environment):

    .venv/bin/python3 tools/testmodels/crafted.py [--out tests/data/crafted]

The output is deterministic: the same bytes on every run.
"""

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

T = schema.TensorType
Op = schema.BuiltinOperator
Opts = schema.BuiltinOptions

INT32_MAX = 2**31 - 1


class Graph:
    """One subgraph written directly in the TFLite schema."""

    def __init__(self):
        self.model = schema.ModelT()
        self.model.version = 3
        self.model.description = "tinydeploy crafted contract test"
        self.model.buffers = [schema.BufferT()]
        self.model.operatorCodes = []
        self.graph = schema.SubGraphT()
        self.graph.tensors = []
        self.graph.operators = []
        self.model.subgraphs = [self.graph]

    def tensor(self, name, shape, dtype, data=None, scale=None, zero_point=None, axis=0):
        t = schema.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = dtype
        t.buffer = 0
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = list(np.ascontiguousarray(data).tobytes())
            self.model.buffers.append(buffer)
            t.buffer = len(self.model.buffers) - 1
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            zp = np.zeros(len(q.scale), np.int64) if zero_point is None else zero_point
            q.zeroPoint = [int(z) for z in np.atleast_1d(zp)]
            q.quantizedDimension = axis
            t.quantization = q
        self.graph.tensors.append(t)
        return len(self.graph.tensors) - 1

    def op(self, code, inputs, outputs, options_type=Opts.NONE, options=None):
        codes = self.model.operatorCodes
        index = next((i for i, c in enumerate(codes) if c.builtinCode == code), None)
        if index is None:
            c = schema.OperatorCodeT()
            c.builtinCode = code
            c.deprecatedBuiltinCode = min(code, 127)
            c.version = 1
            codes.append(c)
            index = len(codes) - 1
        o = schema.OperatorT()
        o.opcodeIndex = index
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        o.builtinOptionsType = options_type
        o.builtinOptions = options
        self.graph.operators.append(o)

    def finish(self, inputs, outputs):
        self.graph.inputs = list(inputs)
        self.graph.outputs = list(outputs)
        builder = flatbuffers.Builder(1024)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def conv_options(stride=1, dilation=1, padding=schema.Padding.SAME):
    o = schema.Conv2DOptionsT()
    o.padding = padding
    o.strideH = o.strideW = stride
    o.dilationHFactor = o.dilationWFactor = dilation
    return o


def weights(shape, seed):
    return np.random.default_rng(seed).integers(-127, 128, size=shape, dtype=np.int8)


# Base models: each function returns the honest model, and applies one lie when asked.

def conv_int8(lie=None):
    """CONV_2D int8, per-channel weights: [1,5,5,2] * [3,3,3,2] -> [1,5,5,3]."""
    g = Graph()
    x = g.tensor("input", [1, 5, 5, 2], T.INT8, scale=0.05,
                 zero_point=1000 if lie == "input_zero_point" else -3)
    w_scales = [0.01, 0.02, 0.015]
    if lie == "filter_axis":
        # Two per-channel scales along the input channels: consistent with the filter's shape,
        # but the kernels index them by output channel, of which there are 3.
        w_scales = w_scales[:2]
    w = g.tensor("filter", [3, 3, 3, 2], T.INT8, data=weights([3, 3, 3, 2], 1), scale=w_scales,
                 axis=3 if lie == "filter_axis" else 0)
    bias_values = np.array([100, -200, 300], np.int32)
    if lie == "bias_short":
        bias_values = bias_values[:1]
    if lie == "bias_near_int32_max":
        bias_values = np.array([INT32_MAX - 5, 0, 0], np.int32)
    bias_scales = [0.05 * s for s in w_scales]
    if len(bias_scales) != len(bias_values):
        bias_scales = bias_scales[:1]
    b = g.tensor("bias", [len(bias_values)], T.INT32, data=bias_values, scale=bias_scales)
    y = g.tensor("output", [1, 5, 5, 3], T.INT8,
                 scale=1e-37 if lie == "output_scale_tiny" else 0.1, zero_point=5)
    dilation = INT32_MAX if lie == "dilation_huge" else 1
    g.op(Op.CONV_2D, [x, w, b], [y], Opts.Conv2DOptions, conv_options(dilation=dilation))
    return g.finish([x], [y])


def conv_int16(lie=None):
    """CONV_2D 16x8 with int64 bias: [1,4,4,2] * [2,3,3,2] -> [1,4,4,2]."""
    g = Graph()
    x = g.tensor("input", [1, 4, 4, 2], T.INT16, scale=0.001, zero_point=0)
    w = g.tensor("filter", [2, 3, 3, 2], T.INT8, data=weights([2, 3, 3, 2], 2), scale=[0.01, 0.02])
    bias = np.array([1000, -1000], np.int64)
    if lie == "bias_huge":
        bias = np.array([2**62, 0], np.int64)
    b = g.tensor("bias", [2], T.INT64, data=bias, scale=[1e-5, 2e-5])
    y = g.tensor("output", [1, 4, 4, 2], T.INT16,
                 scale=1e-12 if lie == "output_scale_tiny" else 0.002, zero_point=0)
    g.op(Op.CONV_2D, [x, w, b], [y], Opts.Conv2DOptions, conv_options())
    return g.finish([x], [y])


def conv_int16_bias32_wide():
    """CONV_2D 16x8 with an int32 bias over 2304 taps: the worst case of its int32 accumulator
    (32768 x the sum of |weights|) exceeds int32, as ordinary 16x8 layers do; TFLite runs it
    with that accumulator, and so must we."""
    g = Graph()
    x = g.tensor("input", [1, 4, 4, 256], T.INT16, scale=0.001, zero_point=0)
    w = g.tensor("filter", [2, 3, 3, 256], T.INT8, data=weights([2, 3, 3, 256], 7),
                 scale=[0.01, 0.02])
    b = g.tensor("bias", [2], T.INT32, data=np.array([5000, -5000], np.int32), scale=[1e-5, 2e-5])
    y = g.tensor("output", [1, 4, 4, 2], T.INT16, scale=0.5, zero_point=0)
    g.op(Op.CONV_2D, [x, w, b], [y], Opts.Conv2DOptions, conv_options())
    return g.finish([x], [y])


def conv_hybrid(lie=None):
    """Hybrid CONV_2D: float input and output, int8 weights, float bias."""
    g = Graph()
    x = g.tensor("input", [1, 4, 4, 2], T.FLOAT32)
    w = g.tensor("filter", [3, 3, 3, 2], T.INT8, data=weights([3, 3, 3, 2], 3),
                 scale=[0.01, 0.02, 0.03])
    bias = np.array([0.5, -0.25, 0.125], np.float32)
    if lie == "bias_short":
        bias = bias[:1]
    b = g.tensor("bias", [len(bias)], T.FLOAT32, data=bias)
    y = g.tensor("output", [1, 4, 4, 3], T.FLOAT32)
    g.op(Op.CONV_2D, [x, w, b], [y], Opts.Conv2DOptions, conv_options())
    return g.finish([x], [y])


def depthwise_int8(lie=None):
    """DEPTHWISE_CONV_2D int8, depth multiplier 2: [1,5,5,2] -> [1,5,5,4]."""
    g = Graph()
    x = g.tensor("input", [1, 5, 5, 2], T.INT8, scale=0.05, zero_point=-3)
    w_scales = [0.01, 0.02, 0.015, 0.01]
    w = g.tensor("filter", [1, 3, 3, 4], T.INT8, data=weights([1, 3, 3, 4], 4), scale=w_scales,
                 axis=3)
    bias = np.array([10, 20, 30, 40], np.int32)
    if lie == "bias_short":
        bias = bias[:2]
    b = g.tensor("bias", [len(bias)], T.INT32, data=bias, scale=[0.05 * s for s in w_scales][:len(bias)])
    y = g.tensor("output", [1, 5, 5, 4], T.INT8, scale=0.1, zero_point=5)
    o = schema.DepthwiseConv2DOptionsT()
    o.padding = schema.Padding.SAME
    o.strideH = o.strideW = 1
    o.depthMultiplier = 3 if lie == "depth_multiplier" else 2
    o.dilationHFactor = o.dilationWFactor = 1
    g.op(Op.DEPTHWISE_CONV_2D, [x, w, b], [y], Opts.DepthwiseConv2DOptions, o)
    return g.finish([x], [y])


def fully_connected_int8(lie=None):
    """FULLY_CONNECTED int8, per-tensor weights: [2,8] x [4,8] -> [2,4]."""
    g = Graph()
    x = g.tensor("input", [2, 8], T.INT8, scale=0.05, zero_point=-3)
    w = g.tensor("weights", [4, 8], T.INT8, data=weights([4, 8], 5), scale=0.01)
    if lie == "sparse_weights":
        # Declared sparse, with a buffer far shorter than the dense shape.
        g.model.buffers[-1].data = g.model.buffers[-1].data[:4]
        sparsity = schema.SparsityParametersT()
        sparsity.traversalOrder = [0, 1]
        g.graph.tensors[w].sparsity = sparsity
    bias = np.array([1, 2, 3, 4], np.int32)
    if lie == "bias_short":
        bias = bias[:3]
    b = g.tensor("bias", [len(bias)], T.INT32, data=bias, scale=0.0005)
    y = g.tensor("output", [2, 4], T.INT8, scale=0.1, zero_point=5)
    g.op(Op.FULLY_CONNECTED, [x, w, b], [y], Opts.FullyConnectedOptions,
         schema.FullyConnectedOptionsT())
    return g.finish([x], [y])


def transpose_conv_int8(lie=None):
    """TRANSPOSE_CONV int8: [1,3,3,2] -> [1,6,6,3], stride 2, SAME."""
    g = Graph()
    out_shape = [1, 6, 6, 3]
    shape_values = np.array([2, 6, 6, 3] if lie == "output_shape_values" else out_shape, np.int32)
    s = g.tensor("output_shape", [4], T.INT32, data=shape_values)
    w_scales = [0.01, 0.02, 0.015]
    w = g.tensor("filter", [3, 3, 3, 2], T.INT8, data=weights([3, 3, 3, 2], 6), scale=w_scales)
    in_batch = 4 if lie == "batch_mismatch" else 1
    x = g.tensor("input", [in_batch, 3, 3, 2], T.INT8, scale=0.05, zero_point=-3)
    bias = np.array([7, 8, 9], np.int32)
    if lie == "bias_short":
        bias = bias[:1]
    b = g.tensor("bias", [len(bias)], T.INT32, data=bias, scale=[0.05 * v for v in w_scales][:len(bias)])
    y = g.tensor("output", out_shape, T.INT8, scale=0.1, zero_point=5)
    o = schema.TransposeConvOptionsT()
    o.padding = schema.Padding.SAME
    o.strideH = o.strideW = 2
    g.op(Op.TRANSPOSE_CONV, [s, w, x, b], [y], Opts.TransposeConvOptions, o)
    return g.finish([x], [y])


def add_int8(lie=None):
    """ADD int8 with broadcasting: [1,4,4,3] + [3] -> [1,4,4,3]."""
    g = Graph()
    a = g.tensor("a", [1, 4, 4, 3], T.INT8, scale=0.05,
                 zero_point=-(2**31) if lie == "zero_point_int32_min" else 2)
    c = g.tensor("b", [3], T.INT8, scale=0.07, zero_point=-1)
    y = g.tensor("sum", [1, 4, 4, 3], T.INT8, scale=0.1, zero_point=4)
    g.op(Op.ADD, [a, c], [y], Opts.AddOptions, schema.AddOptionsT())
    return g.finish([a, c], [y])


def relu_int8_per_channel():
    """RELU int8 whose input claims per-channel quantization: the kernel has one scale."""
    g = Graph()
    x = g.tensor("input", [1, 4, 4, 3], T.INT8, scale=[0.05, 0.1, 0.2], zero_point=[0, 0, 0],
                 axis=3)
    y = g.tensor("output", [1, 4, 4, 3], T.INT8, scale=0.05, zero_point=0)
    g.op(Op.RELU, [x], [y])
    return g.finish([x], [y])


def reshape_int8(lie=None):
    """RESHAPE through a constant shape operand: [1,6,4] -> [2,12]."""
    g = Graph()
    x = g.tensor("input", [1, 6, 4], T.INT8, scale=0.05, zero_point=0)
    shape = [2, 12]
    if lie == "shape_overflow":
        # The product of these overflows 64 bits; the -1 asks for it to be divided out.
        shape = [INT32_MAX, INT32_MAX, INT32_MAX, -1]
    s = g.tensor("shape", [len(shape)], T.INT32, data=np.array(shape, np.int32))
    y = g.tensor("output", [2, 12], T.INT8, scale=0.05, zero_point=0)
    g.op(Op.RESHAPE, [x, s], [y], Opts.ReshapeOptions, schema.ReshapeOptionsT())
    return g.finish([x], [y])


def softmax(dtype, beta):
    g = Graph()
    if dtype == "float":
        x = g.tensor("logits", [1, 10], T.FLOAT32)
        y = g.tensor("probabilities", [1, 10], T.FLOAT32)
    else:
        x = g.tensor("logits", [1, 10], T.INT8, scale=0.1, zero_point=0)
        y = g.tensor("probabilities", [1, 10], T.INT8, scale=1.0 / 256, zero_point=-128)
    o = schema.SoftmaxOptionsT()
    o.beta = beta
    g.op(Op.SOFTMAX, [x], [y], Opts.SoftmaxOptions, o)
    return g.finish([x], [y])


def leaky_relu_int8(alpha):
    g = Graph()
    x = g.tensor("input", [1, 16], T.INT8, scale=0.05, zero_point=0)
    y = g.tensor("output", [1, 16], T.INT8, scale=0.05, zero_point=0)
    o = schema.LeakyReluOptionsT()
    o.alpha = alpha
    g.op(Op.LEAKY_RELU, [x], [y], Opts.LeakyReluOptions, o)
    return g.finish([x], [y])


def average_pool_int16(window):
    """AVERAGE_POOL_2D int16 over a [1,300,300,1] input with a window of `window` x `window`."""
    g = Graph()
    x = g.tensor("input", [1, 300, 300, 1], T.INT16, scale=0.001, zero_point=0)
    out = 300 // window
    y = g.tensor("output", [1, out, out, 1], T.INT16, scale=0.001, zero_point=0)
    o = schema.Pool2DOptionsT()
    o.padding = schema.Padding.VALID
    o.strideH = o.strideW = window
    o.filterHeight = o.filterWidth = window
    g.op(Op.AVERAGE_POOL_2D, [x], [y], Opts.Pool2DOptions, o)
    return g.finish([x], [y])


def mean_int16(length):
    """MEAN int16 over the last axis of [1, length]."""
    g = Graph()
    x = g.tensor("input", [1, length], T.INT16, scale=0.001, zero_point=0)
    axis = g.tensor("axis", [1], T.INT32, data=np.array([1], np.int32))
    y = g.tensor("output", [1], T.INT16, scale=0.001, zero_point=0)
    g.op(Op.MEAN, [x, axis], [y], Opts.ReducerOptions, schema.ReducerOptionsT())
    return g.finish([x], [y])


def strided_slice_int8(stride):
    """STRIDED_SLICE int8 of [4,6] rows 0..4 with a row stride of `stride`."""
    g = Graph()
    x = g.tensor("input", [4, 6], T.INT8, scale=0.05, zero_point=0)
    begin = g.tensor("begin", [2], T.INT32, data=np.array([0, 0], np.int32))
    end = g.tensor("end", [2], T.INT32, data=np.array([4, 6], np.int32))
    strides = g.tensor("strides", [2], T.INT32, data=np.array([stride, 1], np.int32))
    rows = -(-4 // stride)
    y = g.tensor("output", [rows, 6], T.INT8, scale=0.05, zero_point=0)
    g.op(Op.STRIDED_SLICE, [x, begin, end, strides], [y], Opts.StridedSliceOptions,
         schema.StridedSliceOptionsT())
    return g.finish([x], [y])


# name -> (builder, operator, finding, text the refusal must contain; None: must run)
MODELS = {
    # Finding 1: heap corruption in TRANSPOSE_CONV.
    "transpose_conv_int8": (lambda: transpose_conv_int8(), "TRANSPOSE_CONV", "base", None),
    "transpose_conv_batch_mismatch": (
        lambda: transpose_conv_int8("batch_mismatch"), "TRANSPOSE_CONV", "1",
        "input 'input' has batch 4 but output 'output' has batch 1"),
    "transpose_conv_output_shape_values": (
        lambda: transpose_conv_int8("output_shape_values"), "TRANSPOSE_CONV", "1",
        "output 0 'output' is stored with shape [1, 6, 6, 3], but its inputs and options give "
        "[2, 6, 6, 3]"),
    # Finding 2: bias shorter than the output channels.
    "conv_int8": (lambda: conv_int8(), "CONV_2D", "base", None),
    "conv_bias_short": (lambda: conv_int8("bias_short"), "CONV_2D", "2",
                        "bias 'bias' has 1 elements, expected one per output channel (3)"),
    "depthwise_conv_int8": (lambda: depthwise_int8(), "DEPTHWISE_CONV_2D", "base", None),
    "depthwise_conv_bias_short": (
        lambda: depthwise_int8("bias_short"), "DEPTHWISE_CONV_2D", "2",
        "bias 'bias' has 2 elements, expected one per output channel (4)"),
    "depthwise_conv_depth_multiplier": (
        lambda: depthwise_int8("depth_multiplier"), "DEPTHWISE_CONV_2D", "2",
        "depth_multiplier 3 disagrees with the 2 input and 4 output channels"),
    "fully_connected_int8": (lambda: fully_connected_int8(), "FULLY_CONNECTED", "base", None),
    "fully_connected_bias_short": (
        lambda: fully_connected_int8("bias_short"), "FULLY_CONNECTED", "2",
        "bias 'bias' has 3 elements, expected one per output channel (4)"),
    "transpose_conv_bias_short": (
        lambda: transpose_conv_int8("bias_short"), "TRANSPOSE_CONV", "2",
        "bias 'bias' has 1 elements, expected one per output channel (3)"),
    "conv_hybrid": (lambda: conv_hybrid(), "CONV_2D", "base", None),
    "conv_hybrid_bias_short": (lambda: conv_hybrid("bias_short"), "CONV_2D", "2",
                               "bias 'bias' has 1 elements, expected one per output channel (3)"),
    "fully_connected_sparse_weights": (
        lambda: fully_connected_int8("sparse_weights"), "FULLY_CONNECTED", "2",
        "tensor 'weights' is sparse"),
    # Finding 3: values outside what the integer arithmetic can hold.
    "conv_input_zero_point": (
        lambda: conv_int8("input_zero_point"), "CONV_2D", "3",
        "tensor 'input' has zero point 1000, outside int8's range [-128, 127]"),
    "add_zero_point_int32_min": (
        lambda: add_int8("zero_point_int32_min"), "ADD", "3",
        "tensor 'a' has zero point -2147483648, outside int8's range [-128, 127]"),
    "add_int8": (lambda: add_int8(), "ADD", "base", None),
    "conv_output_scale_tiny": (
        lambda: conv_int8("output_scale_tiny"), "CONV_2D", "3",
        "the rescaling of input 'input' x filter 'filter' to output 'output'"),
    "conv_int16": (lambda: conv_int16(), "CONV_2D", "base", None),
    "conv_int16_bias32_wide": (conv_int16_bias32_wide, "CONV_2D", "3", None),
    "conv_int16_output_scale_tiny": (
        lambda: conv_int16("output_scale_tiny"), "CONV_2D", "3",
        "the rescaling of input 'input' x filter 'filter' to output 'output'"),
    "conv_int16_bias_huge": (
        lambda: conv_int16("bias_huge"), "CONV_2D", "3",
        "the accumulator of output channel 0 can reach"),
    "conv_bias_near_int32_max": (
        lambda: conv_int8("bias_near_int32_max"), "CONV_2D", "3",
        "the accumulator of output channel 0 can reach"),
    "conv_dilation_huge": (
        lambda: conv_int8("dilation_huge"), "CONV_2D", "3",
        "the window positions exceed the runtime's 32-bit index range"),
    "conv_filter_quantized_dimension": (
        lambda: conv_int8("filter_axis"), "CONV_2D", "3",
        "filter 'filter' has 2 per-channel scales (along dimension 3) for 3 output channels"),
    "relu_per_channel_input": (
        relu_int8_per_channel, "RELU", "3",
        "tensor 'input' is quantized per channel (3 scales), but the kernel applies one scale "
        "to it"),
    "reshape_int8": (lambda: reshape_int8(), "RESHAPE", "base", None),
    "reshape_shape_overflow": (lambda: reshape_int8("shape_overflow"), "RESHAPE", "3",
                               "the element count of new shape"),
    "average_pool_int16": (lambda: average_pool_int16(100), "AVERAGE_POOL_2D", "base", None),
    "average_pool_int16_window": (
        lambda: average_pool_int16(300), "AVERAGE_POOL_2D", "3",
        "a window of 90000 int16 values can overflow the 32-bit sum"),
    "mean_int16": (lambda: mean_int16(1000), "MEAN", "base", None),
    "mean_int16_too_many": (lambda: mean_int16(70000), "MEAN", "3",
                            "70000 int16 values per output can overflow the 32-bit sum"),
    "strided_slice_int8": (lambda: strided_slice_int8(3), "STRIDED_SLICE", "base", None),
    # A stride beyond the dimension takes one row: TFLite runs it, and so must we (the stride in
    # elements used to overflow int32 while lowering).
    "strided_slice_stride_huge": (lambda: strided_slice_int8(INT32_MAX), "STRIDED_SLICE", "3",
                                  None),
    "leaky_relu_int8": (lambda: leaky_relu_int8(0.2), "LEAKY_RELU", "base", None),
    "leaky_relu_alpha_nan": (lambda: leaky_relu_int8(math.nan), "LEAKY_RELU", "3",
                             "alpha nan is not a finite number"),
    # Finding 4: SOFTMAX beta.
    "softmax_float": (lambda: softmax("float", 1.0), "SOFTMAX", "base", None),
    "softmax_float_beta_nan": (lambda: softmax("float", math.nan), "SOFTMAX", "4",
                               "beta nan is not a finite number"),
    "softmax_float_beta_inf": (lambda: softmax("float", math.inf), "SOFTMAX", "4",
                               "beta inf is not a finite number"),
    "softmax_int8": (lambda: softmax("int8", 1.0), "SOFTMAX", "base", None),
    "softmax_int8_beta_negative": (lambda: softmax("int8", -1.0), "SOFTMAX", "4",
                                   "beta -1 must be positive for a quantized SOFTMAX"),
    "softmax_int8_beta_zero": (lambda: softmax("int8", 0.0), "SOFTMAX", "4",
                               "beta 0 must be positive for a quantized SOFTMAX"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_out = Path(__file__).resolve().parents[2] / "tests" / "data" / "crafted"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (build, op, finding, refusal) in MODELS.items():
        data = build()
        (args.out / f"{name}.tflite").write_bytes(data)
        manifest[name] = {"op": op, "finding": finding, "refusal": refusal,
                          "sha256": hashlib.sha256(data).hexdigest()}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(manifest)} models to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
