"""Operator test models with their weights rewritten as int4 (packed two per byte, the low nibble
first, as TensorFlow Lite stores them; or one value per byte), for the int4-weight tests."""

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

INT4 = 17  # TensorType.INT4
WEIGHTED = {3, 4, 9}  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED


def _builtin(model, op):
    code = model.operatorCodes[op.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def with_int4_weights(source, destination, one_per_byte=False):
    """Writes `source` with the weights of every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
    as int4 (each int8 weight divided by 16, rounded and clamped to [-8, 7]); returns how many
    weight tensors it rewrote."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(source.read_bytes(), 0))
    graph = model.subgraphs[0]
    rewritten = set()
    for op in graph.operators:
        if _builtin(model, op) not in WEIGHTED or op.inputs[1] in rewritten:
            continue
        tensor = graph.tensors[op.inputs[1]]
        buffer = model.buffers[tensor.buffer]
        values = np.frombuffer(bytes(buffer.data), dtype=np.int8).astype(np.int32)
        nibbles = np.clip(np.round(values / 16), -8, 7).astype(np.int8).reshape(-1)
        if one_per_byte:
            data = nibbles.view(np.uint8)
        else:
            padded = nibbles if len(nibbles) % 2 == 0 else np.append(nibbles, np.int8(0))
            data = ((padded[0::2] & 0xF) | ((padded[1::2] & 0xF) << 4)).astype(np.uint8)
        buffer.data = data
        tensor.type = INT4
        rewritten.add(op.inputs[1])
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    destination.write_bytes(bytes(builder.Output()))
    return len(rewritten)
