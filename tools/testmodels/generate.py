#!/usr/bin/env python3
"""Generates tinydeploy's operator test-model suite with the real TensorFlow Lite converter.

Every model is a small Keras model whose branches cover one operator family with its options
(strides, dilations, padding modes, fused activations, broadcasting shapes, depth multipliers,
masks). Each family is converted in up to four modes:

  float   float32 everywhere
  int8    full-integer int8, per-channel weights (the converter's default)
  int8pt  full-integer int8, per-tensor weights (only for families with weights)
  int16   16x8: int16 activations, int8 weights, int64 bias where the format says so

A few options the converter never emits from Keras (SOFTMAX's beta, int8<->int16 requantization)
are made by editing the converted model; the manifest says which.

The models are committed under tests/data/models, so the test suite needs only the reference
packages. Regenerate with (TensorFlow is not needed for anything else):

  python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install -r tools/testmodels/requirements.txt
  /tmp/tfvenv/bin/python tools/testmodels/generate.py [-o tests/data/models] [--only FAMILY]
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

import flatbuffers  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GENERATOR = "tools/testmodels/generate.py"
CALIBRATION_SAMPLES = 32

# --- model families ----------------------------------------------------------------------------
# Each builder returns (keras.Model, note). Inputs have batch size 1. Layers get seeded random
# weights and non-zero biases so that every bias path is exercised.


def _init(seed):
    return keras.initializers.RandomUniform(-0.6, 0.6, seed=seed)


def _bias(seed):
    return keras.initializers.RandomUniform(-0.3, 0.3, seed=seed)


def _input(shape, name):
    return keras.Input(shape, batch_size=1, name=name)


def conv2d():
    x = _input((9, 9, 3), "image")
    outs = [
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer=_init(1),
                            bias_initializer=_bias(2), name="same_relu")(x),
        keras.layers.Conv2D(5, (3, 2), strides=2, padding="valid", use_bias=False,
                            kernel_initializer=_init(3), name="valid_stride2_nobias")(x),
        keras.layers.Conv2D(4, 3, dilation_rate=2, padding="same", activation="relu6",
                            kernel_initializer=_init(4), bias_initializer=_bias(5),
                            name="same_dilation2_relu6")(x),
        keras.layers.Conv2D(3, (2, 3), strides=(2, 1), dilation_rate=1, padding="same",
                            kernel_initializer=_init(6), bias_initializer=_bias(7),
                            name="same_stride21")(x),
        keras.layers.Conv2D(2, 3, dilation_rate=(1, 3), padding="valid", activation="tanh",
                            kernel_initializer=_init(8), bias_initializer=_bias(9),
                            name="valid_dilation13")(x),
    ]
    return keras.Model(x, outs), "CONV_2D: SAME/VALID, strides, dilations, no bias, fused RELU/RELU6"


def depthwise_conv2d():
    x = _input((9, 9, 4), "image")
    outs = [
        keras.layers.DepthwiseConv2D(3, padding="same", activation="relu",
                                     depthwise_initializer=_init(1), bias_initializer=_bias(2),
                                     name="same_relu")(x),
        keras.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="valid",
                                     depthwise_initializer=_init(3), bias_initializer=_bias(4),
                                     name="valid_stride2_multiplier2")(x),
        keras.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same", activation="relu6",
                                     depthwise_initializer=_init(5), bias_initializer=_bias(6),
                                     name="same_dilation2_relu6")(x),
        keras.layers.DepthwiseConv2D((2, 3), depth_multiplier=3, padding="valid", use_bias=False,
                                     depthwise_initializer=_init(7),
                                     name="valid_multiplier3_nobias")(x),
        keras.layers.DepthwiseConv2D(3, strides=(1, 2), padding="same",
                                     depthwise_initializer=_init(8), bias_initializer=_bias(9),
                                     name="same_stride12")(x),
    ]
    return keras.Model(x, outs), "DEPTHWISE_CONV_2D: depth multipliers, dilation, strides, padding"


def fully_connected():
    x = _input((12,), "features")
    seq = _input((3, 10), "sequence")
    outs = [
        keras.layers.Dense(8, activation="relu", kernel_initializer=_init(1),
                           bias_initializer=_bias(2), name="relu")(x),
        keras.layers.Dense(5, use_bias=False, kernel_initializer=_init(3), name="nobias")(x),
        keras.layers.Dense(6, kernel_initializer=_init(4), bias_initializer=_bias(5),
                           name="keep_num_dims")(seq),
    ]
    return keras.Model([x, seq], outs), "FULLY_CONNECTED: bias, no bias, fused RELU, rank-3 input"


def transpose_conv():
    x = _input((5, 5, 4), "image")
    outs = [
        keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", kernel_initializer=_init(1),
                                     bias_initializer=_bias(2), name="same_stride2")(x),
        keras.layers.Conv2DTranspose(2, 2, strides=2, padding="valid", use_bias=False,
                                     kernel_initializer=_init(3),
                                     name="valid_stride2_nobias")(x),
        keras.layers.Conv2DTranspose(3, (3, 2), strides=1, padding="same",
                                     kernel_initializer=_init(4), bias_initializer=_bias(5),
                                     name="same_stride1")(x),
        keras.layers.Conv2DTranspose(2, 3, strides=(2, 1), padding="valid",
                                     kernel_initializer=_init(6), bias_initializer=_bias(7),
                                     name="valid_stride21")(x),
    ]
    return keras.Model(x, outs), "TRANSPOSE_CONV: SAME/VALID, strides, with and without bias"


def pooling():
    x = _input((9, 9, 3), "image")
    outs = [
        keras.layers.AveragePooling2D(2, strides=2, padding="valid", name="avg_valid")(x),
        keras.layers.AveragePooling2D(3, strides=2, padding="same", name="avg_same")(x),
        keras.layers.AveragePooling2D((2, 3), strides=(1, 2), padding="same",
                                      name="avg_same_rect")(x),
        keras.layers.MaxPooling2D(3, strides=1, padding="same", name="max_same")(x),
        keras.layers.MaxPooling2D((2, 3), strides=(2, 1), padding="valid", name="max_valid")(x),
        keras.layers.ReLU(name="max_relu")(
            keras.layers.MaxPooling2D(2, strides=2, padding="same", name="max_same2")(x)),
    ]
    return keras.Model(x, outs), "AVERAGE_POOL_2D / MAX_POOL_2D: SAME/VALID, strides, windows"


def _lambda(fn, name):
    return keras.layers.Lambda(fn, name=name)


def add_sub_mul():
    a = _input((4, 5, 6), "a")
    b = _input((1, 1, 6), "b")
    c = _input((4, 1, 6), "c")
    outs = [
        keras.layers.ReLU(name="add_relu")(keras.layers.Add(name="add_bcast")([a, b])),
        _lambda(lambda t: t[0] - t[1], "sub_bcast")([a, c]),
        _lambda(lambda t: t[0] * t[1], "mul_bcast")([a, b]),
        _lambda(lambda t: t[0] + t[1], "add_same")([a, a * 0.5]),
        _lambda(lambda t: t[1] - t[0], "sub_reverse_bcast")([a, c]),
        _lambda(lambda t: t[0] * t[1], "mul_bcast_middle")([a, c]),
        _lambda(lambda t: tf.nn.relu6(t[0] * t[1]), "mul_relu6")([c, b]),
    ]
    return keras.Model([a, b, c], outs), "ADD / SUB / MUL: broadcasting shapes, fused activations"


def add_5d():
    a = _input((2, 3, 4, 5), "a")
    b = _input((2, 1, 4, 1), "b")
    outs = [
        _lambda(lambda t: t[0] + t[1], "add_5d")([a, b]),
        _lambda(lambda t: t[0] * t[1], "mul_5d")([a, b]),
        _lambda(lambda t: t[0] - t[1], "sub_5d")([a, b]),
    ]
    return keras.Model([a, b], outs), "ADD / SUB / MUL broadcasting in five dimensions"


def maximum_minimum():
    a = _input((4, 5, 6), "a")
    b = _input((1, 5, 1), "b")
    outs = [
        keras.layers.Maximum(name="maximum_same")([a, a * 0.25]),
        _lambda(lambda t: tf.maximum(t[0], t[1]), "maximum_bcast")([a, b]),
        _lambda(lambda t: tf.minimum(t[0], t[1]), "minimum_bcast")([a, b]),
        _lambda(lambda t: tf.minimum(t, 0.3), "minimum_const")(a),
    ]
    return keras.Model([a, b], outs), "MAXIMUM / MINIMUM: same shape, broadcasting, constant"


def activations():
    x = _input((4, 4, 8), "x")
    outs = [
        keras.layers.ReLU(name="relu")(x),
        keras.layers.ReLU(max_value=6.0, name="relu6_fused")(x * 4.0),
        keras.layers.LeakyReLU(negative_slope=0.2, name="leaky_relu")(x),
        keras.layers.LeakyReLU(negative_slope=1.5, name="leaky_relu_above_one")(x),
        keras.layers.Activation("sigmoid", name="logistic")(x * 2.0),
        keras.layers.Activation("tanh", name="tanh")(x * 2.0),
        keras.layers.Softmax(name="softmax")(x * 3.0),
    ]
    return keras.Model(x, outs), "RELU, RELU6, LEAKY_RELU, LOGISTIC, TANH, SOFTMAX"


def relu6():
    x = _input((4, 4, 8), "x")
    outs = [keras.layers.ReLU(max_value=6.0, name="relu6")(x),
            keras.layers.ReLU(max_value=6.0, name="relu6_wide")(x * 8.0)]
    return keras.Model(x, outs), "RELU6 as an operator of its own, output scale unlike the input's"


def hard_swish():
    x = _input((4, 4, 8), "x")
    outs = [keras.layers.Activation("hard_swish", name="hard_swish")(x * 3.0),
            _lambda(lambda t: t * tf.nn.relu6(t + 3.0) * (1.0 / 6.0), "hard_swish_small")(x)]
    return keras.Model(x, outs), "HARD_SWISH (the converter has no 16x8 form of it)"


def softmax_beta():
    x = _input((10,), "logits")
    y = _input((2, 3, 7), "scores")
    outs = [keras.layers.Softmax(name="softmax_rank2")(x),
            keras.layers.Softmax(name="softmax_rank4")(y)]
    return keras.Model([x, y], outs), "SOFTMAX with beta 0.6 (beta patched after conversion)"


def _patch_softmax_beta(model):
    for op in model.subgraphs[0].operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.SOFTMAX:
            op.builtinOptions.beta = 0.6


def reshaping():
    x = _input((4, 1, 6), "x")
    outs = [
        _lambda(lambda t: tf.reshape(t, (1, 6, 4)), "reshape")(x),
        _lambda(lambda t: tf.squeeze(t, axis=2), "squeeze")(x),
        _lambda(lambda t: tf.expand_dims(t, axis=1), "expand_dims")(x),
        _lambda(lambda t: tf.transpose(t, (0, 3, 1, 2)), "transpose_0312")(x),
        _lambda(lambda t: tf.transpose(t[:, :, 0, :], (2, 0, 1)), "transpose_rank3")(x),
    ]
    return keras.Model(x, outs), "RESHAPE, SQUEEZE, EXPAND_DIMS, TRANSPOSE"


def transpose_5d():
    x = _input((2, 3, 4, 5), "x")
    outs = [_lambda(lambda t: tf.transpose(t, (0, 4, 2, 1, 3)), "transpose_5d")(x),
            _lambda(lambda t: tf.transpose(t, (3, 1, 2, 0, 4)), "transpose_batch")(x)]
    return keras.Model(x, outs), "TRANSPOSE of rank 5"


def pad():
    x = _input((4, 5, 3), "x")
    outs = [
        _lambda(lambda t: tf.pad(t, [[0, 0], [1, 2], [0, 1], [0, 0]]), "pad_spatial")(x),
        _lambda(lambda t: tf.pad(t, [[0, 0], [0, 0], [0, 0], [2, 1]]), "pad_channels")(x),
        keras.layers.ZeroPadding2D(((1, 0), (2, 1)), name="zero_padding")(x),
        _lambda(lambda t: tf.pad(t[:, 0], [[0, 0], [0, 0], [1, 1]]), "pad_rank3")(x),
    ]
    return keras.Model(x, outs), "PAD on every axis, rank 3 and 4"


def padv2():
    x = _input((4, 5, 3), "x")
    outs = [
        _lambda(lambda t: tf.pad(t, [[0, 0], [2, 0], [1, 1], [0, 0]], constant_values=0.5),
                "padv2_value")(x),
        _lambda(lambda t: tf.pad(t, [[0, 0], [0, 1], [0, 0], [1, 2]], constant_values=-0.25),
                "padv2_negative")(x),
    ]
    return keras.Model(x, outs), "PADV2 with a constant value (the 16x8 converter leaves it float)"


def concatenation():
    a = _input((3, 4, 5), "a")
    b = _input((3, 4, 2), "b")
    c = _input((1, 4, 5), "c")
    outs = [
        keras.layers.Concatenate(axis=-1, name="concat_channels")([a, b * 3.0]),
        keras.layers.Concatenate(axis=1, name="concat_rows")([a, c, a * 0.5]),
        keras.layers.Concatenate(axis=2, name="concat_cols")([a, a]),
    ]
    return keras.Model([a, b, c], outs), "CONCATENATION on every axis, inputs with other scales"


def strided_slice():
    x = _input((6, 7, 5), "x")
    outs = [
        _lambda(lambda t: t[:, 1:5:2, ::-1, 1:], "begin_end_masks_negative_stride")(x),
        _lambda(lambda t: t[:, 2, :, 1:4], "shrink_axis")(x),
        _lambda(lambda t: t[..., 1:4], "ellipsis")(x),
        _lambda(lambda t: t[:, -1:-6:-2, 3, ::2], "negative_indices_shrink")(x),
        _lambda(lambda t: tf.strided_slice(t, [0, 1, 0, 0], [1, 100, -1, 5], [1, 3, 2, 1]),
                "clamped_bounds")(x),
    ]
    return keras.Model(x, outs), "STRIDED_SLICE: begin/end/shrink masks, negative strides, clamping"


def strided_slice_5d():
    x = _input((6, 7, 5), "x")
    outs = [
        _lambda(lambda t: t[:, tf.newaxis, -3:, 1:6:3, :], "new_axis")(x),
        _lambda(lambda t: t[0, ..., 2:4, tf.newaxis, 1], "ellipsis_new_shrink")(x),
    ]
    return keras.Model(x, outs), "STRIDED_SLICE on the rank-5 tensors the converter makes of new axes"


def mean():
    x = _input((5, 6, 4), "x")
    outs = [
        _lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True), "spatial_keepdims")(x),
        _lambda(lambda t: tf.reduce_mean(t, axis=[1, 2]), "spatial")(x),
        _lambda(lambda t: tf.reduce_mean(t, axis=-1, keepdims=True), "channels")(x),
        _lambda(lambda t: tf.reduce_mean(t, axis=1), "rows")(x),
        keras.layers.GlobalAveragePooling2D(name="global_average")(x * 2.0),
    ]
    return keras.Model(x, outs), "MEAN over spatial, channel and row axes, keep_dims"


def quantize_io():
    x = _input((3, 4, 5), "x")
    outs = [keras.layers.Conv2D(4, 1, kernel_initializer=_init(1), bias_initializer=_bias(2),
                                name="conv")(x)]
    return keras.Model(x, outs), "QUANTIZE at the float input, DEQUANTIZE at the float output"


def pack_split():
    x = _input((4, 6, 3), "x")
    y = _input((4, 6, 5), "y")
    rows = _lambda(lambda t: tf.unstack(t, axis=1), "unstack_rows")(x)
    channels = _lambda(lambda t: tf.unstack(t, axis=-1), "unstack_channels")(y)
    thirds = _lambda(lambda t: tf.split(t, 3, axis=2), "split_columns")(x)
    parts = _lambda(lambda t: tf.split(t, [2, -1, 1], axis=-1), "split_v_channels")(y)
    outs = [
        _lambda(lambda ts: tf.stack(ts, axis=-1), "stack_last")([rows[3], rows[1]]),
        _lambda(lambda ts: tf.stack(ts, axis=1), "stack_middle")(
            [channels[4], channels[0], channels[2]]),
        thirds[0], thirds[2], parts[0], parts[1], parts[2],
        _lambda(lambda ts: tf.stack(ts, axis=0), "stack_front")([thirds[1], thirds[1]]),
    ]
    return keras.Model([x, y], outs), ("PACK (axis first, middle, -1), UNPACK (axis 1, -1), SPLIT, "
                                       "SPLIT_V with a -1 size and a negative axis")


def resize_nearest():
    x = _input((5, 7, 3), "image")
    v1 = tf.compat.v1.image
    outs = [
        _lambda(lambda t: v1.resize_nearest_neighbor(t, (10, 14)), "upscale2")(x),
        _lambda(lambda t: v1.resize_nearest_neighbor(t, (8, 11), align_corners=True),
                "align_corners")(x),
        _lambda(lambda t: v1.resize_nearest_neighbor(t, (9, 4), half_pixel_centers=True),
                "half_pixel_centers")(x),
        _lambda(lambda t: v1.resize_nearest_neighbor(t, (3, 5)), "downscale")(x),
    ]
    return keras.Model(x, outs), ("RESIZE_NEAREST_NEIGHBOR: up and down, align_corners, "
                                  "half_pixel_centers")


def resize_bilinear():
    x = _input((5, 7, 3), "image")
    v1 = tf.compat.v1.image
    outs = [
        _lambda(lambda t: v1.resize_bilinear(t, (10, 14)), "upscale2")(x),
        _lambda(lambda t: v1.resize_bilinear(t, (8, 11), align_corners=True), "align_corners")(x),
        _lambda(lambda t: v1.resize_bilinear(t, (9, 4), half_pixel_centers=True),
                "half_pixel_centers")(x),
        _lambda(lambda t: v1.resize_bilinear(t, (3, 5)), "downscale")(x),
    ]
    return keras.Model(x, outs), "RESIZE_BILINEAR: up and down, align_corners, half_pixel_centers"


def arg_min_max():
    x = _input((4, 5, 6), "x")
    outs = [
        _lambda(lambda t: tf.math.argmax(t, axis=-1, output_type=tf.int32), "argmax_channels")(x),
        _lambda(lambda t: tf.math.argmin(t, axis=1, output_type=tf.int32), "argmin_rows")(x),
        _lambda(lambda t: tf.math.argmax(t, axis=2, output_type=tf.int32), "argmax_cols")(x),
    ]
    return keras.Model(x, outs), "ARG_MAX and ARG_MIN over several axes, int32 indices"


def slice_():
    x = _input((5, 6, 4), "x")
    outs = [
        _lambda(lambda t: tf.slice(t, [0, 1, 2, 1], [1, 3, 3, 2]), "window")(x),
        _lambda(lambda t: tf.slice(t, [0, 2, 0, 0], [-1, -1, 4, 3]), "to_the_end")(x),
    ]
    return keras.Model(x, outs), "SLICE: begin/size, size -1"


def gather():
    x = _input((6, 5, 3), "x")
    outs = [
        _lambda(lambda t: tf.gather(t, [4, 0, 2, 2], axis=1), "rows")(x),
        _lambda(lambda t: tf.gather(t, [[2, 1], [0, 2]], axis=3), "channels_2d_indices")(x),
        _lambda(lambda t: tf.gather(t, [[3, 1, 4]], axis=2, batch_dims=1), "batch_dims")(x),
    ]
    return keras.Model(x, outs), "GATHER: axis, rank-2 indices, batch_dims, repeated indices"


def depth_space():
    x = _input((4, 6, 8), "x")
    outs = [
        _lambda(lambda t: tf.nn.depth_to_space(t, 2), "depth_to_space")(x),
        _lambda(lambda t: tf.nn.space_to_depth(t, 2), "space_to_depth")(x),
    ]
    return keras.Model(x, outs), "DEPTH_TO_SPACE and SPACE_TO_DEPTH with block size 2"


def reduce_sum():
    x = _input((5, 6, 4), "x")
    outs = [
        _lambda(lambda t: tf.reduce_sum(t, axis=[1, 2], keepdims=True), "spatial_keepdims")(x),
        _lambda(lambda t: tf.reduce_sum(t, axis=-1), "channels")(x),
        _lambda(lambda t: tf.reduce_sum(t, axis=1), "rows")(x),
    ]
    return keras.Model(x, outs), "SUM over spatial, channel and row axes, keep_dims"


def reduce_max_min():
    x = _input((5, 6, 4), "x")
    outs = [
        _lambda(lambda t: tf.reduce_max(t, axis=[1, 2], keepdims=True), "max_spatial")(x),
        _lambda(lambda t: tf.reduce_min(t, axis=-1), "min_channels")(x),
        _lambda(lambda t: tf.reduce_max(t, axis=1), "max_rows")(x),
    ]
    return keras.Model(x, outs), "REDUCE_MAX and REDUCE_MIN over several axes, keep_dims"


def abs_neg():
    x = _input((4, 5, 3), "x")
    outs = [
        _lambda(lambda t: tf.abs(t), "abs")(x),
        _lambda(lambda t: tf.abs(t * 3.0 - 0.5), "abs_rescaled")(x),
    ]
    return keras.Model(x, outs), "ABS with the input's and with another output quantization"


def neg():
    x = _input((4, 5, 3), "x")
    return keras.Model(x, [_lambda(lambda t: tf.negative(t), "neg")(x)]), "NEG"


def prelu():
    # Keras 3's PReLU comes out of the converter as RELU/NEG/MUL/ADD; the Keras 2 layer
    # (tf_keras, as tools/testmodels/lstm.py uses) converts to the fused PRELU, but only when it
    # is the model's one PReLU (two of them on one input stay unfused).
    import tf_keras
    x = tf_keras.Input((4, 5, 3), batch_size=1, name="x")
    y = tf_keras.layers.PReLU(
        alpha_initializer=tf_keras.initializers.RandomUniform(-0.5, 0.9, seed=3),
        shared_axes=[1], name="alpha_per_column_and_channel")(x)
    return tf_keras.Model(x, y), "PRELU with alphas broadcast along one axis"

def _patch_bias_quantized_dimension(model):
    """Gives every rank-1 per-channel tensor (the biases) the filter's quantized_dimension 3,
    as some converters and editing tools write them."""
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            q = tensor.quantization
            if (tensor.shape is not None and len(tensor.shape) == 1 and q is not None
                    and q.scale is not None and len(q.scale) > 1):
                q.quantizedDimension = 3


# family name -> (builder, modes, post-conversion patch, converter input/output type per mode)
WEIGHT_MODES = ("float", "int8", "int8pt", "int16")
ACTIVATION_MODES = ("float", "int8", "int16")
FAMILIES = {
    "conv2d": (conv2d, WEIGHT_MODES, None),
    "depthwise_conv2d": (depthwise_conv2d, WEIGHT_MODES, None),
    "fully_connected": (fully_connected, WEIGHT_MODES, None),
    "transpose_conv": (transpose_conv, WEIGHT_MODES, None),
    "pooling": (pooling, ACTIVATION_MODES, None),
    "add_sub_mul": (add_sub_mul, ACTIVATION_MODES, None),
    "add_5d": (add_5d, ACTIVATION_MODES, None),
    "maximum_minimum": (maximum_minimum, ACTIVATION_MODES, None),
    "activations": (activations, ACTIVATION_MODES, None),
    "relu6": (relu6, ACTIVATION_MODES, None),
    "hard_swish": (hard_swish, ("float", "int8"), None),
    "softmax_beta": (softmax_beta, ACTIVATION_MODES, _patch_softmax_beta),
    "reshaping": (reshaping, ACTIVATION_MODES, None),
    "transpose_5d": (transpose_5d, ACTIVATION_MODES, None),
    "pad": (pad, ACTIVATION_MODES, None),
    "padv2": (padv2, ("float", "int8"), None),
    "concatenation": (concatenation, ACTIVATION_MODES, None),
    "strided_slice": (strided_slice, ACTIVATION_MODES, None),
    "strided_slice_5d": (strided_slice_5d, ACTIVATION_MODES, None),
    "mean": (mean, ACTIVATION_MODES, None),
    "quantize_io": (quantize_io, ("int8_float_io", "int16_float_io"), None),
    "pack_split": (pack_split, ACTIVATION_MODES, None),
    "conv2d_bias_axis3": (conv2d, ("int8", "int16"), _patch_bias_quantized_dimension),
    "resize_nearest": (resize_nearest, ACTIVATION_MODES, None),
    "resize_bilinear": (resize_bilinear, ("float", "int8"), None),
    "arg_min_max": (arg_min_max, ("float", "int8"), None),
    "reduce_sum": (reduce_sum, ACTIVATION_MODES, None),
    "reduce_max_min": (reduce_max_min, ("float", "int8"), None),
    "slice": (slice_, ACTIVATION_MODES, None),
    "gather": (gather, ("float", "int8"), None),
    "depth_space": (depth_space, ("float", "int8"), None),
    "abs": (abs_neg, ACTIVATION_MODES, None),
    "neg": (neg, ("float",), None),
    "prelu": (prelu, ("float", "int8"), None),  # the converter has no 16x8 PRELU
}


# --- how each model is checked ----------------------------------------------------------------
# By default every model runs against both references: integer outputs bit-exact, float outputs
# within `tinydeploy run`'s tolerance. These are the measured exceptions, each with its reason.
# A rule applies to every model whose file name starts with the key.

_TFLM_RANK4_SLICE = "TFLite Micro's STRIDED_SLICE takes at most 4 dimensions"
_TFLM_NO_MASKS = ("TFLite Micro's STRIDED_SLICE does not implement the ellipsis and new-axis "
                  "masks (its shape check fails)")
_LITERT_16X8 = ("TFLite's 16x8 MUL and FULLY_CONNECTED requantize with a different rounding "
                "than TFLite Micro (measured: at most 1 LSB apart); TFLite Micro is the "
                "definition for integer outputs")
_LITERT_FC_PER_TENSOR = (
    "TFLite Micro forms a biased per-tensor FULLY_CONNECTED's scale product in double precision, "
    "TFLite in single precision, so their multipliers can differ in the last bit (measured: at "
    "most 1 LSB apart); TFLite Micro is the definition for integer outputs")
_LITERT_SOFTMAX16 = ("TFLite's int16 SOFTMAX differs from TFLite Micro's by at most 1 LSB "
                     "(measured); TFLite Micro is the definition for integer outputs")
_LITERT_IN_PLACE = ("TFLite refuses an operator whose output is also one of its inputs ('Tensor 1 "
                    "is both input 1 and output 0'), which is how this model updates its variable "
                    "tensor; TFLite Micro runs it")
REFERENCE_RULES = {
    "variable_tensor": {"litert": {"not_run": _LITERT_IN_PLACE}},
    "activations_int16": {"litert": {"max_lsb": 1, "why": _LITERT_SOFTMAX16}},
    "softmax_beta_int16": {"litert": {"max_lsb": 1, "why": _LITERT_SOFTMAX16}},
    "fully_connected_int8pt": {"litert": {"max_lsb": 1, "why": _LITERT_FC_PER_TENSOR}},
    "strided_slice_5d": {"tflm": {"not_run": _TFLM_RANK4_SLICE}},
    "strided_slice_masks_float": {"tflm": {"not_run": _TFLM_NO_MASKS}},
    "strided_slice_masks_int": {"tflm": {"not_run": _TFLM_NO_MASKS}},
    "relu6_int8": {"litert": {"not_run": "TFLite requantizes RELU6's output; TFLite Micro (the "
                                         "definition tinydeploy follows) clamps in the input's "
                                         "quantization and ignores the output's, so the two are "
                                         "up to 0.5 apart here"}},
    "requantize": {"litert": {"not_run": "TFLite's QUANTIZE has no int8 -> int16 kernel"}},
    "add_sub_mul_int16": {"litert": {"max_lsb": 1, "why": _LITERT_16X8}},
    "add_5d_int16": {"litert": {"max_lsb": 1, "why": _LITERT_16X8}},
    "fully_connected_int16": {"litert": {"max_lsb": 1, "why": _LITERT_16X8}},
    "reduce_sum_int": {"litert": {"not_run": "TFLite's reference int8 and int16 SUM give wrong "
                                             "sums (measured on seed 0: int8 up to 5.4 in real "
                                             "terms from TFLite Micro's, whose sums are within a "
                                             "quantization step of the exact ones; int16 every "
                                             "output 32768 LSB off); TFLite Micro is the "
                                             "definition"}},
    "depth_space_int8": {"litert": {"not_run": "TFLite's reference op resolver has no int8 "
                                               "DEPTH_TO_SPACE (version 2: 'Didn't find op for "
                                               "builtin opcode'); TFLite Micro runs it"}},
    "conv2d_bias_axis3": {"litert": {"not_run": "TFLite refuses a quantized_dimension beyond a "
                                                "tensor's rank; TFLite Micro never reads it on "
                                                "a bias"}},
}


def references_for(name):
    checks = {"tflm": {"max_lsb": 0}, "litert": {"max_lsb": 0}}
    for prefix, rules in REFERENCE_RULES.items():
        if name.startswith(prefix):
            checks.update(rules)
    return checks


# --- conversion --------------------------------------------------------------------------------


def _representative_dataset(model, seed):
    rng = np.random.default_rng(seed)
    shapes = {t.name: tuple(int(d) for d in t.shape) for t in model.inputs}

    def generate():
        for _ in range(CALIBRATION_SAMPLES):
            # Uniform in [-1, 1): the range `tinydeploy run --random` draws float inputs from.
            # Keyed by input name: the converter orders a Keras model's inputs its own way.
            yield {name: rng.uniform(-1.0, 1.0, shape).astype(np.float32)
                   for name, shape in shapes.items()}

    return generate


def convert(model, mode, seed):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _representative_dataset(model, seed)
        int16 = mode.startswith("int16")
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            if int16 else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = tf.float32 if mode.endswith("float_io") else (tf.int16 if int16 else tf.int8)
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
        if mode == "int8pt":
            converter._experimental_disable_per_channel = True
    return converter.convert()


def _repack(model_t):
    builder = flatbuffers.Builder(4096)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _quantization(scale, zero_point):
    q = schema.QuantizationParametersT()
    q.scale = [scale]
    q.zeroPoint = [zero_point]
    return q


class _SchemaModel:
    """A model written directly in the TFLite schema, for operators and type combinations the
    converter never emits from Keras."""

    def __init__(self, description):
        self.model = schema.ModelT()
        self.model.version = 3
        self.model.description = description
        self.model.operatorCodes = []
        self.model.buffers = [schema.BufferT()]
        self.graph = schema.SubGraphT()
        self.graph.name = "main"
        self.graph.tensors = []
        self.graph.operators = []
        self.model.subgraphs = [self.graph]

    def tensor(self, name, shape, dtype, quantization=None, data=None):
        tensor = schema.TensorT()
        tensor.name = name
        tensor.shape = list(shape)
        tensor.type = dtype
        tensor.buffer = 0
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = list(np.asarray(data).tobytes())
            self.model.buffers.append(buffer)
            tensor.buffer = len(self.model.buffers) - 1
        if quantization is not None:
            tensor.quantization = _quantization(*quantization)
        self.graph.tensors.append(tensor)
        return len(self.graph.tensors) - 1

    def operator(self, builtin, inputs, outputs, options_type=0, options=None, version=1):
        codes = [c.builtinCode for c in self.model.operatorCodes]
        if builtin not in codes:
            code = schema.OperatorCodeT()
            code.builtinCode = builtin
            code.deprecatedBuiltinCode = builtin
            code.version = version
            self.model.operatorCodes.append(code)
            codes.append(builtin)
        op = schema.OperatorT()
        op.opcodeIndex = codes.index(builtin)
        op.inputs = list(inputs)
        op.outputs = list(outputs)
        op.builtinOptionsType = options_type
        op.builtinOptions = options
        self.graph.operators.append(op)

    def finish(self, inputs, outputs):
        self.graph.inputs = list(inputs)
        self.graph.outputs = list(outputs)
        return _repack(self.model)


# Tensor type, quantization (scale, zero point) and numpy type of the schema-written models.
_SCHEMA_TYPES = {"float": (schema.TensorType.FLOAT32, None, np.float32),
                 "int8": (schema.TensorType.INT8, (0.02, -7), np.int8),
                 "int16": (schema.TensorType.INT16, (0.0005, 0), np.int16)}


def requantize_model():
    """QUANTIZE between int8 and int16 in every direction: the converter emits such
    requantizations only inside larger mixed-precision graphs."""
    m = _SchemaModel("tinydeploy test model: QUANTIZE requantization int8<->int16")
    shape = [1, 3, 4, 5]
    i8, i16 = schema.TensorType.INT8, schema.TensorType.INT16
    t = [m.tensor("input_int8", shape, i8, (0.05, 3)),
         m.tensor("as_int16", shape, i16, (0.0004, 0)),
         m.tensor("back_to_int8", shape, i8, (0.07, -11)),
         m.tensor("rescaled_int8", shape, i8, (0.02, 20)),
         m.tensor("int16_rescaled", shape, i16, (0.0011, 0))]
    for source, target in ((0, 1), (1, 2), (2, 3), (1, 4)):
        m.operator(schema.BuiltinOperator.QUANTIZE, [t[source]], [t[target]], version=2)
    return m.finish([t[0]], t[1:])


def squeeze_expand_dims_model(mode):
    """SQUEEZE and EXPAND_DIMS: the converter turns both into RESHAPE."""
    dtype, quantization, _ = _SCHEMA_TYPES[mode]
    m = _SchemaModel(f"tinydeploy test model: SQUEEZE and EXPAND_DIMS, {mode}")
    x = m.tensor("x", [1, 4, 1, 6], dtype, quantization)
    squeezed = m.tensor("squeeze_axis2", [1, 4, 6], dtype, quantization)
    options = schema.SqueezeOptionsT()
    options.squeezeDims = [2]
    m.operator(schema.BuiltinOperator.SQUEEZE, [x], [squeezed],
               schema.BuiltinOptions.SqueezeOptions, options)
    all_ones = m.tensor("squeeze_all", [4, 6], dtype, quantization)
    options = schema.SqueezeOptionsT()
    options.squeezeDims = []
    m.operator(schema.BuiltinOperator.SQUEEZE, [x], [all_ones],
               schema.BuiltinOptions.SqueezeOptions, options)
    axis = m.tensor("axis", [1], schema.TensorType.INT32, data=np.array([-1], np.int32))
    expanded = m.tensor("expand_dims_last", [1, 4, 6, 1], dtype, quantization)
    m.operator(schema.BuiltinOperator.EXPAND_DIMS, [squeezed, axis], [expanded],
               schema.BuiltinOptions.ExpandDimsOptions, schema.ExpandDimsOptionsT())
    axis0 = m.tensor("axis0", [], schema.TensorType.INT32, data=np.array(0, np.int32))
    front = m.tensor("expand_dims_front", [1, 4, 6], dtype, quantization)
    m.operator(schema.BuiltinOperator.EXPAND_DIMS, [all_ones, axis0], [front],
               schema.BuiltinOptions.ExpandDimsOptions, schema.ExpandDimsOptionsT())
    return m.finish([x], [squeezed, all_ones, expanded, front])


def strided_slice_masks_model(mode):
    """STRIDED_SLICE with ellipsis and new-axis masks and the offset flag, which the converter
    never emits (it rewrites them into RESHAPE and plain slices)."""
    dtype, quantization, np_type = _SCHEMA_TYPES[mode]
    m = _SchemaModel(f"tinydeploy test model: STRIDED_SLICE masks, {mode}")
    shape = (1, 6, 7, 5)
    probe = np.zeros(shape, np_type)
    x = m.tensor("x", shape, dtype, quantization)
    # (name, begin, end, strides, masks (begin, end, ellipsis, new_axis, shrink), offset, numpy)
    cases = [
        ("ellipsis_first", [0, 1], [0, 4], [1, 1], (0, 0, 1, 0, 0), False,
         probe[..., 1:4]),
        ("ellipsis_middle_shrink", [0, 0, 3], [1, 0, 4], [1, 1, 1], (0, 0, 2, 0, 5), False,
         probe[0, ..., 3]),
        ("new_axis_shrink", [0, 0, 2, 0, 1], [1, 0, 5, 0, 2], [1, 1, 1, 1, 1],
         (8, 8, 0, 2, 17), False, probe[0, np.newaxis, 2:5, :, 1]),
        ("offset", [0, 1, 2, 0], [1, 3, 4, 5], [1, 1, 2, 1], (0, 0, 0, 0, 0), True,
         probe[:, 1:4, 2:6:2, :]),
        ("shrink_ellipsis_new_axis_reverse", [0, 0, 0, 2], [1, 0, 0, 0], [1, 1, 1, -1],
         (0, 8, 2, 4, 1), False, probe[0, ..., np.newaxis, 2::-1]),
    ]
    outputs = []
    for name, begin, end, strides, masks, offset, expected in cases:
        spec = [m.tensor(f"{name}_{what}", [len(values)], schema.TensorType.INT32,
                         data=np.array(values, np.int32))
                for what, values in (("begin", begin), ("end", end), ("strides", strides))]
        output = m.tensor(name, expected.shape, dtype, quantization)
        options = schema.StridedSliceOptionsT()
        (options.beginMask, options.endMask, options.ellipsisMask, options.newAxisMask,
         options.shrinkAxisMask) = masks
        options.offset = offset
        m.operator(schema.BuiltinOperator.STRIDED_SLICE, [x, *spec], [output],
                   schema.BuiltinOptions.StridedSliceOptions, options, version=4)
        outputs.append(output)
    return m.finish([x], outputs)


def sigmoid_sweep_model(mode):
    """int16 LOGISTIC and TANH over a [65536] tensor at input scales that take each rescaling path
    (power-of-two grids, generic multipliers): the test feeds every int16 value."""
    assert mode == "int16"
    m = _SchemaModel("tinydeploy test model: int16 LOGISTIC and TANH on every input value")
    inputs, outputs = [], []
    for label, scale in (("pow2_12", 2.0 ** -12), ("pow2_11", 2.0 ** -11),
                         ("scale_1_9000", 1.0 / 9000), ("scale_3e4", 3.1e-4)):
        x = m.tensor(f"x_{label}", [65536], schema.TensorType.INT16, (scale, 0))
        inputs.append(x)
        for builtin, name in ((schema.BuiltinOperator.LOGISTIC, "logistic"),
                              (schema.BuiltinOperator.TANH, "tanh")):
            y = m.tensor(f"{name}_{label}", [65536], schema.TensorType.INT16, (2.0 ** -15, 0))
            m.operator(builtin, [x], [y], version=3)
            outputs.append(y)
    return m.finish(inputs, outputs)


def pack_split_integers_model(mode):
    """PACK, UNPACK, SPLIT and SPLIT_V on int32 (and PACK on int64, the only one of the four
    that TFLite Micro runs on int64): the converter keeps integer tensors out of such graphs."""
    dtype = {"int32": schema.TensorType.INT32, "int64": schema.TensorType.INT64}[mode]
    m = _SchemaModel(f"tinydeploy test model: PACK/UNPACK/SPLIT/SPLIT_V on {mode}")
    i32 = schema.TensorType.INT32
    x = m.tensor("x", [2, 3, 4], dtype)
    y = m.tensor("y", [2, 3, 4], dtype)
    outputs = []

    def pack(name, inputs, shape, axis):
        options = schema.PackOptionsT()
        options.valuesCount = len(inputs)
        options.axis = axis
        out = m.tensor(name, shape, dtype)
        m.operator(schema.BuiltinOperator.PACK, inputs, [out], schema.BuiltinOptions.PackOptions,
                   options, version=2 if mode == "int32" else 3)
        return out

    outputs.append(pack("pack_axis_1", [x, y, x], [2, 3, 3, 4], 1))
    outputs.append(pack("pack_axis_minus_1", [y, x], [2, 3, 4, 2], -1))
    if mode == "int32":
        options = schema.UnpackOptionsT()
        options.num = 3
        options.axis = -2
        rows = [m.tensor(f"unpack_{i}", [2, 4], dtype) for i in range(3)]
        m.operator(schema.BuiltinOperator.UNPACK, [x], rows, schema.BuiltinOptions.UnpackOptions,
                   options, version=2)
        outputs += rows
        axis = m.tensor("split_axis", [], i32, data=np.array(-1, np.int32))
        halves = [m.tensor(f"split_{i}", [2, 3, 2], dtype) for i in range(2)]
        options = schema.SplitOptionsT()
        options.numSplits = 2
        m.operator(schema.BuiltinOperator.SPLIT, [axis, y], halves,
                   schema.BuiltinOptions.SplitOptions, options, version=2)
        outputs += halves
        # (TFLite Micro takes an empty part for a dynamic tensor and refuses the model.)
        sizes = m.tensor("size_splits", [2], i32, data=np.array([-1, 2], np.int32))
        axis1 = m.tensor("split_v_axis", [1], i32, data=np.array([1], np.int32))
        pieces = [m.tensor(f"split_v_{i}", shape, dtype)
                  for i, shape in enumerate(([2, 1, 4], [2, 2, 4]))]
        options = schema.SplitVOptionsT()
        options.numSplits = 2
        m.operator(schema.BuiltinOperator.SPLIT_V, [x, sizes, axis1], pieces,
                   schema.BuiltinOptions.SplitVOptions, options, version=2)
        outputs += pieces
    return m.finish([x, y], outputs)


def variable_tensor_model(mode):
    """A plain variable tensor (is_variable) that an ADD accumulates into across invokes, and a
    second ADD that reads it: state kept by the runtime, reset to TFLite Micro's rule (the
    zero point for int8, zero bytes otherwise). The converter only emits variable tensors
    inside SVDF and LSTM operators."""
    dtype, _, _ = _SCHEMA_TYPES[mode]
    quantization = {"float": (None, None), "int8": ((0.02, 3), (0.05, -5)),
                    "int16": ((0.0005, 0), (0.001, 0))}[mode]
    m = _SchemaModel(f"tinydeploy test model: a variable tensor accumulated across invokes, "
                     f"{mode}")
    x = m.tensor("x", [1, 2, 3], dtype, quantization[0])
    total = m.tensor("total", [1, 2, 3], dtype, quantization[1])
    m.graph.tensors[total].isVariable = True
    out = m.tensor("total_plus_x", [1, 2, 3], dtype, quantization[1])
    for inputs, output in (([x, total], total), ([total, x], out)):
        options = schema.AddOptionsT()
        m.operator(schema.BuiltinOperator.ADD, inputs, [output], schema.BuiltinOptions.AddOptions,
                   options, version=1 if mode == "float" else 3)
    return m.finish([x], [out])


SCHEMA_MODELS = [
    ("requantize", "int8_int16", lambda mode: requantize_model(),
     "QUANTIZE int8->int16, int16->int8, int8->int8, int16->int16"),
    ("sigmoid_sweep", "int16", sigmoid_sweep_model,
     "int16 LOGISTIC and TANH at four input scales; tested on every int16 value"),
] + [("squeeze_expand_dims", mode, squeeze_expand_dims_model,
      "SQUEEZE (given axes, all unit axes) and EXPAND_DIMS (negative axis, scalar axis)")
     for mode in ("float", "int8", "int16")] + [
    ("strided_slice_masks", mode, strided_slice_masks_model,
     "STRIDED_SLICE ellipsis and new-axis masks, offset") for mode in ("float", "int8", "int16")] + [
    ("pack_split_integers", mode, pack_split_integers_model,
     "PACK (axis 1, -1), UNPACK (axis -2), SPLIT (axis -1), SPLIT_V (a -1 size, a rank-1 axis) "
     "on int32; PACK on int64") for mode in ("int32", "int64")] + [
    ("variable_tensor", mode, variable_tensor_model,
     "a variable tensor written by ADD and kept across invokes") for mode in ACTIVATION_MODES]


# --- stateful models (resource variables) ------------------------------------------------------
# A tf.Module holding tf.Variables, converted with resource variables enabled: the converter
# emits CALL_ONCE (an initialization subgraph that assigns the initial values), VAR_HANDLE,
# READ_VARIABLE and ASSIGN_VARIABLE. Each such model is tested over several invokes with state
# carried ("invokes" in its manifest entry).


class _ResourceVariables(tf.Module):
    """A leaky accumulator with a non-zero initial value and a shift window of the last three
    inputs: both depend on every earlier invoke."""

    def __init__(self):
        super().__init__()
        self.total = tf.Variable(tf.fill([1, 4], 0.25), name="total")
        self.window = tf.Variable(tf.zeros([1, 3, 4]), name="window")

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x")])
    def __call__(self, x):
        total = self.total * 0.5 + x
        self.total.assign(total)
        window = tf.concat([self.window[:, 1:, :], tf.reshape(x, [1, 1, 4])], axis=1)
        self.window.assign(window)
        return {"total": total * 2.0, "window_mean": tf.reduce_mean(window, axis=1)}


STATEFUL_INVOKES = 5
STATEFUL_SCHEMA_FAMILIES = ("variable_tensor",)
# mode -> what its state is
STATEFUL_MODES = {"float": "float32 state", "int8": "int8 state (variable quantization)",
                  "int8_float_state": "int8 activations, float32 state"}


def convert_resource_variables(mode, seed):
    module = _ResourceVariables()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module)
    converter.experimental_enable_resource_variables = True
    if mode != "float":
        rng = np.random.default_rng(seed)

        def representative():
            for _ in range(CALIBRATION_SAMPLES):
                yield [rng.uniform(-1.0, 1.0, (1, 4)).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        converter._experimental_variable_quantization = mode == "int8"
    return converter.convert()


def _op_names(model_bytes):
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    codes = [names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "?")
             for c in model.operatorCodes]
    return sorted({codes[op.opcodeIndex] for op in model.subgraphs[0].operators})


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", default=str(REPO / "tests/data/models"))
    parser.add_argument("--only", action="append", default=[], help="generate only this family")
    args = parser.parse_args(argv[1:])
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    # A partial run (--only) keeps the other families' entries; every run keeps the entries that
    # other generators (tools/testmodels/svdf.py, ...) wrote.
    entries = {name: entry for name, entry in manifest.get("models", {}).items()
               if args.only or entry.get("generator", GENERATOR) != GENERATOR}

    for seed, (family, (builder, modes, patch)) in enumerate(FAMILIES.items()):
        if args.only and family not in args.only:
            continue
        # A fresh session per family, so layer names (which end up in the model) do not depend
        # on which other families were built in the same run.
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        model, note = builder()
        for mode in modes:
            data = convert(model, mode, seed)
            if patch is not None:
                model_t = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
                patch(model_t)
                data = _repack(model_t)
            name = f"{family}_{mode}.tflite"
            (out / name).write_bytes(data)
            entries[name] = {"family": family, "mode": mode, "covers": note,
                             "operators": _op_names(data), "references": references_for(name),
                             "sha256": hashlib.sha256(data).hexdigest()}
            print(f"{name}: {len(data)} bytes, {', '.join(entries[name]['operators'])}")

    for family, mode, build, note in SCHEMA_MODELS:
        if args.only and family not in args.only:
            continue
        data = build(mode)
        name = f"{family}_{mode}.tflite"
        (out / name).write_bytes(data)
        entries[name] = {"family": family, "mode": mode,
                         "covers": note + " (written in the TFLite schema, not by the converter)",
                         "operators": _op_names(data), "references": references_for(name),
                         "sha256": hashlib.sha256(data).hexdigest()}
        if family in STATEFUL_SCHEMA_FAMILIES:
            entries[name]["invokes"] = STATEFUL_INVOKES
        print(f"{name}: {len(data)} bytes, {', '.join(entries[name]['operators'])}")

    for seed, mode in enumerate(STATEFUL_MODES):
        family = "resource_variables"
        if args.only and family not in args.only:
            continue
        keras.backend.clear_session()
        tf.random.set_seed(seed)
        data = convert_resource_variables(mode, seed)
        name = f"{family}_{mode}.tflite"
        (out / name).write_bytes(data)
        entries[name] = {"family": family, "mode": mode,
                         "covers": "CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE: a "
                                   "leaky accumulator with a non-zero initial value and a shift "
                                   f"window, {STATEFUL_MODES[mode]}",
                         "operators": _op_names(data), "references": references_for(name),
                         "invokes": STATEFUL_INVOKES,
                         "sha256": hashlib.sha256(data).hexdigest()}
        print(f"{name}: {len(data)} bytes, {', '.join(entries[name]['operators'])}")

    manifest = {"generator": "tools/testmodels/generate.py",
                "tensorflow": tf.__version__,
                "models": dict(sorted(entries.items()))}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
