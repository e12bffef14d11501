"""Convert three of MediaPipe 0.10.14's TFLite models (Apache-2.0) to ONNX, once, for relit to run with ONNX
Runtime: BlazeFace short-range face detection, the 468-point face mesh and the general selfie segmentation.

    bash scripts/mediapipe_env.sh && .mpvenv/bin/python scripts/convert_mediapipe.py

The .tflite files are read from the installed mediapipe wheel and parsed with the `tflite` flatbuffer schema
package (no TensorFlow); the ONNX graphs are built with onnx.helper from this script's own mapping of exactly
the ops these models use. Writes core/relit/weights/{face_detector,face_landmarks,person_segmentation}.onnx,
a card (.json) beside each, and LICENSE-mediapipe.txt (the wheel's licence file). Running it twice gives
identical files.

Layout: TFLite is NHWC. Each ONNX graph keeps the TFLite input (NHWC float32, one input named "input"),
transposes it to NCHW once, keeps every 4-D activation NCHW, and transposes 4-D outputs back to NHWC, so the
outputs have TFLite's shapes and order (named by TFLite's output tensor names, sanitized).

Op mapping (TFLite schema semantics, float32 only):
- DEQUANTIZE of fp16 constants is folded: the weights become float32 initializers (exact: fp16 -> fp32).
- CONV_2D / DEPTHWISE_CONV_2D / MAX_POOL_2D / AVERAGE_POOL_2D: padding SAME is written as explicit pads,
  total = max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0), total // 2 before and the rest after (TFLite
  puts the odd pixel at the bottom / right); VALID is no padding. The average pool divides by the number of
  pixels inside the image (count_include_pad=0), as TFLite does. Fused activations NONE / RELU / RELU6 /
  RELU_N1_TO_1 follow the op.
- ADD / MUL / PRELU / CONCATENATION / PAD / RESHAPE / RESIZE_BILINEAR / RELU / LOGISTIC / HARD_SWISH map to
  their ONNX namesakes (a constant operand, broadcast NHWC-wise, is permuted to NCHW; PAD's [4, 2] paddings
  and CONCATENATION's axis are permuted; RESHAPE sees NHWC order, as in TFLite; RESIZE_BILINEAR's
  align_corners / half_pixel_centers pick the coordinate transformation).
- MediaPipe's custom op Convolution2DTransposeBias is a ConvTranspose with bias. Its semantics are those of
  mediapipe/util/tflite/operations/transpose_conv_bias.cc (google-ai-edge/mediapipe, tag v0.10.14): weights
  OHWI [out, kh, kw, in]; custom options the raw struct TfLiteTransposeConvParams {TfLitePadding padding;
  int stride_width; int stride_height} (TfLitePadding: 1 = SAME, 2 = VALID); for SAME the padding total is
  max(0, k - (n - 1) % s - 1), output size s * (n - 1) + k - total, and the kernel scatters input pixel i to
  output i * s - total // 2 + j (no kernel flip), out of range dropped; the bias is added once per output
  pixel. In ONNX: W = weights transposed to [in, out, kh, kw], strides s, pads [total // 2, total - total // 2].
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import sys
from pathlib import Path

import mediapipe
import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "core" / "relit" / "weights"
PACKAGE = Path(mediapipe.__file__).resolve().parent
VERSION = "mediapipe-0.10.14"
OPSET = 17
RECIPE = "scripts/mediapipe_env.sh && .mpvenv/bin/python scripts/convert_mediapipe.py"
GRAPHS = "google-ai-edge/mediapipe tag v0.10.14"

OPS = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
ACT = {v: k for k, v in vars(tflite.ActivationFunctionType).items() if not k.startswith("_")}
DTYPES = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
          tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64}
TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)
NHWC_AXIS_IN_NCHW = (0, 2, 3, 1)  # NHWC axis a is NCHW axis NHWC_AXIS_IN_NCHW[a]

# Parity of the converted graphs against the original models, as tests/test_mediapipe_onnx.py measures it
# (run with -s, it prints these numbers) on 7 real photos; recorded here so that the cards are reproducible.
PHOTOS = "../shared/assets/portraits: pool/pd_0001-0006.jpg, grace_hopper.jpg"
PARITY: dict[str, dict[str, object]] = {
    "face_detector": {
        "against": "tflite_runtime 2.14.0 Interpreter on the .tflite, the same input tensors (the photos letterboxed "
                   "as MediaPipe does); ONNX Runtime 1.32 CPU",
        "photos": PHOTOS,
        "regressors": {"max_abs": 1.5e-4, "mean_abs": 4.9e-6, "reference_abs_max": 240},
        "classificators": {"max_abs": 6.6e-4, "mean_abs": 9.8e-6, "reference_abs_max": 409},
        "detections": {"against": "mp.solutions.face_detection (model_selection=0) and face_mesh on the photos, "
                                  "relit.priors.face's own pre- and post-processing (tests/test_priors.py; relit "
                                  "shrinks the plate by area averaging where MediaPipe samples it bilinearly)",
                       "boxes_keypoints_max_of_face_width": 0.048, "landmarks_mean_of_face_width": 0.0058},
    },
    "face_landmarks": {
        "against": "tflite_runtime 2.14.0 Interpreter on the .tflite, the same input tensors (each photo's central "
                   "square, half its short side); ONNX Runtime 1.32 CPU",
        "photos": PHOTOS,
        "conv2d_21": {"max_abs": 2.1e-4, "mean_abs": 1.7e-5, "reference_abs_max": 194},
        "conv2d_31": {"max_abs": 3.1e-5, "mean_abs": 1.6e-5, "reference_abs_max": 43.9},
    },
    "person_segmentation": {
        "against": "mp.solutions.selfie_segmentation (model_selection=0; tflite_runtime cannot run the custom op) on "
                   "the photos stretched to 256x256 as 8-bit images, where its resizes are the identity and its "
                   "mask is the model's output; ONNX Runtime 1.32 CPU",
        "photos": PHOTOS,
        "activation_10": {"max_abs": 3.1e-5, "mean_abs": 3.0e-8, "reference_abs_max": 1.0},
        "mask_at_photo_size": {"against": "the solution's segmentation_mask on the photos at their own size, "
                                          "relit.priors.person (tests/test_priors.py; MediaPipe rounds its input "
                                          "to 8 bits, relit does not)",
                               "max_abs": 0.104, "mean_abs_worst_photo": 4.1e-4},
    },
}

MODELS: list[dict[str, object]] = [
    {
        "name": "face_detector",
        "source": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "range": [-1.0, 1.0],
        "outputs": {
            "regressors": "per anchor (896 = 16x16x2 + 8x8x6), in 128-px input pixels relative to the anchor: "
                          "box centre x, y offsets, width, height, then 6 keypoints (x, y) in the order of "
                          "mp.solutions.face_detection.FaceKeyPoint: RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH_CENTER, "
                          "RIGHT_EAR_TRAGION, LEFT_EAR_TRAGION",
            "classificators": "per anchor: face score logit (sigmoid after clipping to [-100, 100])",
        },
        "mediapipe_graph": {
            "graphs": [f"{GRAPHS}: mediapipe/modules/face_detection/face_detection_short_range.pbtxt",
                       f"{GRAPHS}: mediapipe/modules/face_detection/face_detection.pbtxt"],
            "input": "ImageToTensorCalculator: the whole image letterboxed into 128x128 (keep_aspect_ratio: the "
                     "ROI grown to a square of the long side, centred; BORDER_ZERO, i.e. black bars), RGB, "
                     "output_tensor_float_range [-1, 1] (x / 127.5 - 1); OpenCV warpPerspective, INTER_LINEAR, "
                     "on the 8-bit image, then the float scaling",
            "anchors": "SsdAnchorsCalculator: num_layers 4, strides [8, 16, 16, 16], min_scale 0.1484375, "
                       "max_scale 0.75, anchor_offset 0.5, aspect_ratios [1.0], interpolated_scale_aspect_ratio "
                       "1.0, fixed_anchor_size: 2 anchors per cell of the 16x16 grid, 6 per cell of the 8x8 grid "
                       "(strides 16 share one grid), anchor centre ((x + 0.5) / W, (y + 0.5) / H), size 1x1",
            "decoding": "TensorsToDetectionsCalculator: num_coords 16, box_coord_offset 0, keypoint_coord_offset "
                        "4, num_keypoints 6, reverse_output_order (x before y), x/y/w/h_scale 128: "
                        "cx = r[0] / 128 + anchor_cx, cy = r[1] / 128 + anchor_cy, w = r[2] / 128, h = r[3] / 128, "
                        "keypoint k = (r[4 + 2k] / 128 + anchor_cx, r[5 + 2k] / 128 + anchor_cy), normalized to "
                        "the 128x128 tensor; score = sigmoid(clip(logit, -100, 100)), kept if >= 0.5 "
                        "(min_score_thresh; the solution's min_detection_confidence)",
            "nms": "NonMaxSuppressionCalculator: WEIGHTED, INTERSECTION_OVER_UNION, min_suppression_threshold 0.3",
            "output": "DetectionProjectionCalculator: boxes and keypoints mapped back through the letterbox to "
                      "the image (relative xmin, ymin, width, height)",
        },
    },
    {
        "name": "face_landmarks",
        "source": "mediapipe/modules/face_landmark/face_landmark.tflite",
        "range": [0.0, 1.0],
        "outputs": {
            "conv2d_21": "468 landmarks x (x, y, z) flattened: x, y in pixels of the 192x192 input crop, z in the "
                         "same pixel scale as x (relative depth, smaller is closer to the camera)",
            "conv2d_31": "face presence logit (MediaPipe applies a sigmoid and keeps the landmarks if >= 0.5)",
        },
        "mediapipe_graph": {
            "graphs": [f"{GRAPHS}: mediapipe/modules/face_landmark/face_landmark_cpu.pbtxt",
                       f"{GRAPHS}: mediapipe/modules/face_landmark/face_landmark_front_cpu.pbtxt",
                       f"{GRAPHS}: mediapipe/modules/face_landmark/face_detection_front_detection_to_roi.pbtxt",
                       f"{GRAPHS}: mediapipe/modules/face_landmark/tensors_to_face_landmarks.pbtxt"],
            "input": "ImageToTensorCalculator: the face ROI (rotated rectangle) warped to 192x192 (no "
                     "keep_aspect_ratio: the ROI is already square; border BORDER_REPLICATE, the default), RGB, "
                     "output_tensor_float_range [0, 1] (x / 255); OpenCV warpPerspective, INTER_LINEAR",
            "roi": "from a face detection (face_detector's): DetectionsToRectsCalculator, rotation from keypoint "
                   "0 to keypoint 1 (the eyes) to angle 0, then RectTransformationCalculator scale 1.5 x 1.5, "
                   "square_long (a square of the long side, in pixels); from the previous frame's landmarks in "
                   "video (keypoints 33 and 263), not in static_image_mode",
            "decoding": "TensorsToLandmarksCalculator num_landmarks 468, input 192x192: x / 192, y / 192, z / 192; "
                        "face presence: TensorsToFloatsCalculator activation SIGMOID, ThresholdingCalculator 0.5; "
                        "LandmarkProjectionCalculator maps x, y through the ROI (rotation, centre, size) to the "
                        "image (normalized), z scaled by the ROI's width",
        },
    },
    {
        "name": "person_segmentation",
        "source": "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        "range": [0.0, 1.0],
        "outputs": {
            "activation_10": "person probability per pixel of the 256x256 input (already a sigmoid, 0-1)",
        },
        "mediapipe_graph": {
            "graphs": [f"{GRAPHS}: mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.pbtxt "
                       "(the wheel's selfie_segmentation_cpu.binarypb decodes to the same options)",
                       f"{GRAPHS}: mediapipe/calculators/tensor/image_to_tensor_converter_opencv.cc",
                       f"{GRAPHS}: mediapipe/calculators/tensor/tensors_to_segmentation_converter_opencv.cc"],
            "input": "ImageToTensorCalculator, model_selection 0: the whole image stretched to 256x256 "
                     "(keep_aspect_ratio false: no letterbox, aspect not kept), RGB, output_tensor_float_range "
                     "[0, 1]. On CPU: cv::warpPerspective of the 8-bit image with the matrix that maps the image "
                     "corners (0, 0) and (W, H) to (0, 0) and (256, 256), INTER_LINEAR, BORDER_CONSTANT 0; so "
                     "tensor pixel (u, v) samples the image bilinearly at (u * W / 256, v * H / 256) (no half-"
                     "pixel offset; OpenCV's 1/32-pixel fixed-point weights), the result rounded to 8 bits, then "
                     "divided by 255",
            "output": "TensorsToSegmentationCalculator activation NONE (the model ends in a sigmoid): the 256x256 "
                      "mask resized to the image's size with cv::resize INTER_LINEAR (half-pixel centres, "
                      "float32), the solution's segmentation_mask (H x W float32 in [0, 1])",
        },
    },
]


def sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


class Converter:
    """One TFLite subgraph to one ONNX graph."""

    def __init__(self, data: bytes) -> None:
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise SystemExit("expected one subgraph")
        self.graph = self.model.Subgraphs(0)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.names: dict[int, str] = {}  # TFLite tensor -> ONNX value (4-D ones NCHW)
        self.consts: dict[int, np.ndarray] = {}  # TFLite constant tensors (fp16 dequantized), NHWC
        self.used: set[str] = set()
        self.ops: list[str] = []
        for i in range(self.graph.TensorsLength()):
            t = self.graph.Tensors(i)
            buf = self.model.Buffers(t.Buffer())
            if buf is not None and buf.DataLength():
                dtype = DTYPES[t.Type()]
                self.consts[i] = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype).reshape(self.shape(i))

    # tensors
    def tensor(self, i: int) -> tflite.Tensor:
        return self.graph.Tensors(i)

    def shape(self, i: int) -> tuple[int, ...]:
        t = self.tensor(i)
        return tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def tname(self, i: int) -> str:
        return self.tensor(i).Name().decode()

    def unique(self, base: str) -> str:
        name, k = sanitize(base), 1
        while name in self.used:
            k += 1
            name = f"{sanitize(base)}_{k}"
        self.used.add(name)
        return name

    def init(self, base: str, value: np.ndarray) -> str:
        name = self.unique(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs: object) -> str:
        out = self.unique(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{out}", **attrs))
        return out

    def value(self, i: int) -> str:
        if i in self.names:
            return self.names[i]
        if i in self.consts:  # a constant used as data: permuted like the activation it meets
            raise SystemExit(f"constant {self.tname(i)} used as an activation")
        raise SystemExit(f"tensor {self.tname(i)} used before it is made")

    def const(self, i: int, dtype: type = np.float32) -> np.ndarray:
        if i not in self.consts:
            raise SystemExit(f"{self.tname(i)}: expected a constant")
        return self.consts[i].astype(dtype)

    def operand(self, i: int, out_rank: int) -> str:
        """A binary op's input: an activation, or a constant broadcast NHWC-wise made NCHW-broadcastable."""
        if i not in self.consts:
            if len(self.shape(i)) != out_rank:
                raise SystemExit(f"{self.tname(i)}: rank differs from its op's output")
            return self.value(i)
        c = self.const(i)
        if out_rank == 4:
            c = c.reshape((1,) * (4 - c.ndim) + c.shape).transpose(TO_NCHW)
        return self.init(self.tname(i), c)

    def act(self, x: str, fn: int, base: str) -> str:
        kind = ACT[fn]
        if kind == "NONE":
            return x
        if kind == "RELU":
            return self.node("Relu", [x], base + "_relu")
        if kind in ("RELU6", "RELU_N1_TO_1"):
            lo, hi = (0.0, 6.0) if kind == "RELU6" else (-1.0, 1.0)
            return self.node("Clip", [x, self.init(base + "_lo", np.float32(lo)),
                                      self.init(base + "_hi", np.float32(hi))], base + "_clip")
        raise SystemExit(f"fused activation {kind} not mapped")

    @staticmethod
    def same_pads(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        return total // 2, total - total // 2

    def pads(self, padding: int, in_shape: tuple[int, ...], kh: int, kw: int, sh: int, sw: int,
             dh: int = 1, dw: int = 1) -> list[int]:
        if padding == tflite.Padding.VALID:
            return [0, 0, 0, 0]
        top, bottom = self.same_pads(in_shape[1], kh, sh, dh)
        left, right = self.same_pads(in_shape[2], kw, sw, dw)
        return [top, left, bottom, right]

    # ops
    def convert(self) -> onnx.ModelProto:
        g = self.graph
        if g.InputsLength() != 1:
            raise SystemExit("expected one input")
        inp = int(g.Inputs(0))
        in_shape = self.shape(inp)
        self.used.add("input")
        for k in range(g.OutputsLength()):  # outputs keep their TFLite names; the values that make them do not
            self.used.add(sanitize(self.tname(int(g.Outputs(k)))))
        self.names[inp] = self.node("Transpose", ["input"], "input_nchw", perm=list(TO_NCHW))
        for k in range(g.OperatorsLength()):
            self.op(g.Operators(k))
        outputs = []
        for k in range(g.OutputsLength()):
            i = int(g.Outputs(k))
            name = sanitize(self.tname(i))
            shape = self.shape(i)
            if len(shape) == 4:
                self.nodes.append(helper.make_node("Transpose", [self.value(i)], [name], name=f"Transpose_{name}",
                                                   perm=list(TO_NHWC)))
            else:
                self.nodes.append(helper.make_node("Identity", [self.value(i)], [name], name=f"Identity_{name}"))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        graph = helper.make_graph(self.nodes, "main", [helper.make_tensor_value_info(
            "input", TensorProto.FLOAT, list(in_shape))], outputs, self.inits)
        model = helper.make_model(graph, producer_name="relit scripts/convert_mediapipe.py",
                                  producer_version=VERSION, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        return model

    def op(self, op: tflite.Operator) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        kind = OPS[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        if kind == "CUSTOM":
            kind = "CUSTOM:" + code.CustomCode().decode()
        self.ops.append(kind)
        ins = [int(i) for i in op.InputsAsNumpy()]
        out = int(op.OutputsAsNumpy()[0])
        oname = self.tname(out)
        oshape = self.shape(out)

        def options(cls: type) -> object:
            table = op.BuiltinOptions()
            o = cls()
            o.Init(table.Bytes, table.Pos)
            return o

        if kind == "DEQUANTIZE":
            self.consts[out] = self.const(ins[0], np.float32)
            return
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            depthwise = kind == "DEPTHWISE_CONV_2D"
            o = options(tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
            w = self.const(ins[1])
            ishape = self.shape(ins[0])
            if depthwise:  # [1, kh, kw, cin * m] -> [cin * m, 1, kh, kw], one group per input channel
                weight, group = w.transpose(3, 0, 1, 2), ishape[3]
            else:  # OHWI -> OIHW
                weight, group = w.transpose(0, 3, 1, 2), 1
            kh, kw = w.shape[1], w.shape[2]
            dh, dw = o.DilationHFactor(), o.DilationWFactor()
            args = [self.value(ins[0]), self.init(self.tname(ins[1]), weight)]
            if len(ins) > 2 and ins[2] >= 0:
                args.append(self.init(self.tname(ins[2]), self.const(ins[2])))
            y = self.node("Conv", args, oname, kernel_shape=[kh, kw], strides=[o.StrideH(), o.StrideW()],
                          dilations=[dh, dw], group=group,
                          pads=self.pads(o.Padding(), ishape, kh, kw, o.StrideH(), o.StrideW(), dh, dw))
            y = self.act(y, o.FusedActivationFunction(), oname)
        elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            o = options(tflite.Pool2DOptions)
            kh, kw = o.FilterHeight(), o.FilterWidth()
            attrs: dict[str, object] = {"kernel_shape": [kh, kw], "strides": [o.StrideH(), o.StrideW()],
                                        "pads": self.pads(o.Padding(), self.shape(ins[0]), kh, kw, o.StrideH(),
                                                          o.StrideW())}
            if kind == "AVERAGE_POOL_2D":
                attrs["count_include_pad"] = 0
            y = self.node("MaxPool" if kind == "MAX_POOL_2D" else "AveragePool", [self.value(ins[0])], oname,
                          **attrs)
            y = self.act(y, o.FusedActivationFunction(), oname)
        elif kind in ("ADD", "MUL"):
            o = options(tflite.AddOptions if kind == "ADD" else tflite.MulOptions)
            y = self.node("Add" if kind == "ADD" else "Mul",
                          [self.operand(ins[0], len(oshape)), self.operand(ins[1], len(oshape))], oname)
            y = self.act(y, o.FusedActivationFunction(), oname)
        elif kind in ("RELU", "LOGISTIC", "HARD_SWISH"):
            onnx_op = {"RELU": "Relu", "LOGISTIC": "Sigmoid", "HARD_SWISH": "HardSwish"}[kind]
            y = self.node(onnx_op, [self.value(ins[0])], oname)
        elif kind == "PRELU":
            y = self.node("PRelu", [self.value(ins[0]), self.operand(ins[1], len(oshape))], oname)
        elif kind == "PAD":
            p = self.const(ins[1], np.int64)  # [rank, 2] (before, after) per NHWC axis
            if p.shape[0] == 4:
                p = p[list(TO_NCHW)]
            pads = np.concatenate([p[:, 0], p[:, 1]]).astype(np.int64)
            y = self.node("Pad", [self.value(ins[0]), self.init(oname + "_pads", pads)], oname, mode="constant")
        elif kind == "RESHAPE":
            x = self.value(ins[0])
            if len(self.shape(ins[0])) == 4:
                x = self.node("Transpose", [x], oname + "_nhwc", perm=list(TO_NHWC))
            y = self.node("Reshape", [x, self.init(oname + "_shape", np.array(oshape, np.int64))], oname)
            if len(oshape) == 4:
                y = self.node("Transpose", [y], oname + "_nchw", perm=list(TO_NCHW))
        elif kind == "CONCATENATION":
            o = options(tflite.ConcatenationOptions)
            axis = o.Axis() % len(oshape)
            if len(oshape) == 4:
                axis = NHWC_AXIS_IN_NCHW[axis]
            y = self.node("Concat", [self.operand(i, len(oshape)) for i in ins], oname, axis=axis)
            y = self.act(y, o.FusedActivationFunction(), oname)
        elif kind == "RESIZE_BILINEAR":
            o = options(tflite.ResizeBilinearOptions)
            if o.AlignCorners():
                mode = "align_corners"
            elif o.HalfPixelCenters():
                mode = "half_pixel"  # TF clamps the source coordinate at 0, as ONNX Runtime's linear resize does
            else:
                mode = "asymmetric"
            size = self.const(ins[1], np.int64)
            sizes = np.array([oshape[0], oshape[3], size[0], size[1]], np.int64)
            y = self.node("Resize", [self.value(ins[0]), "", "", self.init(oname + "_sizes", sizes)], oname,
                          mode="linear", coordinate_transformation_mode=mode)
        elif kind == "CUSTOM:Convolution2DTransposeBias":
            padding, stride_w, stride_h = struct.unpack("<iii", op.CustomOptionsAsNumpy().tobytes()[:12])
            w = self.const(ins[1])  # OHWI
            bias = self.const(ins[2])
            n, h, wd, _ = self.shape(ins[0])
            kh, kw = w.shape[1], w.shape[2]
            if padding == 1:  # kTfLitePaddingSame
                th, tw = max(0, kh - (h - 1) % stride_h - 1), max(0, kw - (wd - 1) % stride_w - 1)
            elif padding == 2:  # kTfLitePaddingValid
                th = tw = 0
            else:
                raise SystemExit(f"{oname}: Convolution2DTransposeBias padding {padding} unknown")
            expect = (n, stride_h * (h - 1) + kh - th, stride_w * (wd - 1) + kw - tw, w.shape[0])
            if expect != oshape:
                raise SystemExit(f"{oname}: transposed convolution gives {expect}, the model says {oshape}")
            y = self.node("ConvTranspose", [self.value(ins[0]), self.init(self.tname(ins[1]), w.transpose(3, 0, 1, 2)),
                                            self.init(self.tname(ins[2]), bias)], oname,
                          kernel_shape=[kh, kw], strides=[stride_h, stride_w],
                          pads=[th // 2, tw // 2, th - th // 2, tw - tw // 2])
        else:
            raise SystemExit(f"op {kind} not mapped")
        self.names[out] = y


def check_shapes(model: onnx.ModelProto, conv: Converter) -> None:
    """Every value that came from a TFLite tensor has that tensor's shape (4-D ones permuted to NCHW)."""
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
              for v in [*inferred.graph.value_info, *inferred.graph.output]}
    for i, name in conv.names.items():
        want = conv.shape(i)
        if len(want) == 4:
            want = tuple(want[a] for a in TO_NCHW)
        if shapes.get(name, want) != want:
            raise SystemExit(f"{name}: ONNX shape {shapes[name]}, TFLite {want}")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(WEIGHTS), help="folder for the .onnx files and cards")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in MODELS:
        name, source = str(spec["name"]), str(spec["source"])
        data = (PACKAGE.parent / source).read_bytes()
        conv = Converter(data)
        model = conv.convert()
        onnx.checker.check_model(model, full_check=True)
        check_shapes(model, conv)
        blob = model.SerializeToString()
        if len(blob) > 25 * 2**20:
            raise SystemExit(f"{name}: {len(blob)} bytes, over 25 MB")
        write_atomic(out / f"{name}.onnx", blob)
        in_shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        card = {
            "version": VERSION,
            "internal": in_shape[1],
            "source": source,
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "licence": "Apache-2.0",
            "copyright": "Google LLC (The MediaPipe Authors)",
            "notice": "NOTICE-mediapipe.md, LICENSE-mediapipe.txt",
            "input": {"name": "input", "shape": in_shape, "dtype": "float32", "layout": "NHWC",
                      "channels": "RGB", "range": spec["range"]},
            "outputs": [{"name": o.name, "shape": [d.dim_value for d in o.type.tensor_type.shape.dim],
                         "meaning": spec["outputs"][o.name]} for o in model.graph.output],
            "mediapipe_graph": spec["mediapipe_graph"],
            "tflite_ops": {k: conv.ops.count(k) for k in sorted(set(conv.ops))},
            "onnx_opset": OPSET,
            "recipe": RECIPE,
            "parity": PARITY[name],
        }
        write_atomic(out / f"{name}.json", (json.dumps(card, indent=1) + "\n").encode())
        print(f"{out / name}.onnx: {len(blob) / 1e6:.2f} MB, {len(model.graph.node)} nodes, "
              f"ops {card['tflite_ops']}")
    licence = Path(mediapipe.__file__).resolve().parents[1] / "mediapipe-0.10.14.dist-info" / "LICENSE"
    if not licence.is_file():
        raise SystemExit(f"{licence}: the wheel's licence file is missing")
    tmp = out / ".LICENSE-mediapipe.txt.tmp"
    shutil.copyfile(licence, tmp)
    os.replace(tmp, out / "LICENSE-mediapipe.txt")


if __name__ == "__main__":
    sys.exit(main())
