#!/usr/bin/env python3
"""Lookout's CPU backend against ONNX Runtime CPU on the same weights, in the same run.

1. `lookout export-raw` dumps the embedded weights as f32 with a JSON index.
2. This script builds the same network as an ONNX graph from those tensors (onnx.helper,
   no PyTorch), checks that ONNX Runtime and Lookout classify the shipped 500-image test
   slice identically (same confusion matrix), then times both at batch 1 and batch 64.
3. Prints a Markdown table with the ratios for BENCHMARKS.md.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.2023, 0.1994, 0.2010], dtype=np.float32).reshape(1, 3, 1, 1)
MFLOP = 81.5


def read_raw(path):
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] != b"LKW1":
        sys.exit(f"{path}: not a Lookout raw weights file")
    (hlen,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8 : 8 + hlen])
    data = blob[8 + hlen :]
    out = {}
    for t in header:
        arr = np.frombuffer(data[t["offset"] : t["offset"] + t["len"]], dtype="<f4")
        out[t["name"]] = arr.reshape(t["shape"]).copy()
    return out


def build_onnx(w):
    inits = [numpy_helper.from_array(v, name=k) for k, v in w.items()]
    nodes = []

    def conv(x, name):
        nodes.append(helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [name], pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
        nodes.append(helper.make_node("Relu", [name], [name + "_r"]))
        return name + "_r"

    x = conv("input", "conv1")
    x = conv(x, "conv2")
    nodes.append(helper.make_node("MaxPool", [x], ["pool1"], kernel_shape=[2, 2], strides=[2, 2]))
    x = conv("pool1", "conv3")
    x = conv(x, "conv4")
    nodes.append(helper.make_node("MaxPool", [x], ["pool2"], kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node("Flatten", ["pool2"], ["flat"], axis=1))
    # burn stores Linear weights as [d_in, d_out]: Gemm without transposing B.
    nodes.append(helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"]))
    nodes.append(helper.make_node("Relu", ["fc1"], ["fc1_r"]))
    nodes.append(helper.make_node("Gemm", ["fc1_r", "fc2.weight", "fc2.bias"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "lookout-cifar10",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def save_tfjs(w, prefix):
    """The weights in TF.js layout, in `tf.sequential` order: conv kernels [kh, kw, ci, co]
    (burn: [co, ci, kh, kw]); fc1's rows in NHWC flatten order (burn flattens NCHW)."""
    out, manifest = [], []
    for i in range(1, 5):
        out += [w[f"conv{i}.weight"].transpose(2, 3, 1, 0), w[f"conv{i}.bias"]]
    fc1 = w["fc1.weight"].reshape(64, 8, 8, -1).transpose(1, 2, 0, 3).reshape(4096, -1)
    out += [fc1, w["fc1.bias"], w["fc2.weight"], w["fc2.bias"]]
    with open(prefix + ".bin", "wb") as f:
        for a in out:
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
            manifest.append({"shape": list(a.shape)})
    with open(prefix + ".json", "w") as f:
        json.dump(manifest, f)


def load_slice(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    labels = raw[:, 0].astype(np.int64)
    x = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return (x - MEAN) / STD, labels


def time_ort(sess, threads, iters, batches, batch):
    one = np.random.default_rng(0).standard_normal((1, 3, 32, 32), dtype=np.float32)
    many = np.random.default_rng(1).standard_normal((batch, 3, 32, 32), dtype=np.float32)
    for _ in range(10):
        sess.run(None, {"input": one})
    sess.run(None, {"input": many})
    lat = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, {"input": one})
        lat.append((time.perf_counter() - t) * 1e3)
    lat.sort()
    t = time.perf_counter()
    for _ in range(batches):
        sess.run(None, {"input": many})
    per = (time.perf_counter() - t) / batches
    return {
        "backend": f"onnxruntime-cpu ({threads} threads)",
        "batch1_ms_p50": lat[len(lat) // 2],
        "batch1_ms_p99": lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))],
        "images_per_second": batch / per,
        "gflops": batch / per * MFLOP / 1e3,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lookout", required=True, help="path to the lookout binary")
    ap.add_argument("--slice", default="tests/data/cifar10-test-500.bin")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--save-onnx", help="also write the ONNX model here")
    ap.add_argument("--save-tfjs", help="also write the weights for TF.js as PREFIX.bin + PREFIX.json")
    ap.add_argument("--weights", help="weights file for export-raw (default: the embedded f16)")
    ap.add_argument("--export-only", action="store_true", help="write --save-onnx and stop")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "weights.lkw")
        cmd = [args.lookout, "export-raw", raw]
        if args.weights:
            cmd += ["--weights", args.weights]
        subprocess.run(cmd, check=True)
        weights = read_raw(raw)
        model = build_onnx(weights)
    if args.save_tfjs:
        save_tfjs(weights, args.save_tfjs)
    if args.save_onnx:
        onnx.save(model, args.save_onnx)
    if args.export_only:
        return

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])

    # Oracle check: both runtimes classify the real test slice identically.
    x, labels = load_slice(args.slice)
    logits = sess.run(None, {"input": x})[0]
    preds = logits.argmax(1)
    ort_conf = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(labels, preds):
        ort_conf[t, p] += 1
    out = subprocess.run([args.lookout, "eval", "--json", "--file", args.slice], check=True, capture_output=True, text=True)
    lk = json.loads(out.stdout)
    lk_conf = np.array(lk["confusion"], dtype=np.int64)
    print(f"slice accuracy: lookout {lk['accuracy']:.4f}, onnxruntime {float((preds == labels).mean()):.4f}")
    if not np.array_equal(ort_conf, lk_conf):
        print("confusion matrices differ:\nlookout\n", lk_conf, "\nonnxruntime\n", ort_conf)
        sys.exit(1)
    print("same predictions on all", len(labels), "images")

    # Timing, alternating so that machine noise hits both alike.
    results = {}
    for rnd in range(2):
        out = subprocess.run(
            [args.lookout, "bench", "--json", "--backends", "cpu,flex", "--iters", str(args.iters), "--batches", str(args.batches)],
            check=True, capture_output=True, text=True,
        )
        rows = [json.loads(l) for l in out.stdout.strip().splitlines() if '"backend"' in l]
        lk = next(r for r in rows if r["backend"] == "cpu")
        fx = next(r for r in rows if r["backend"] == "flex")
        o = time_ort(sess, args.threads, args.iters, args.batches, 64)
        for key, r in (("lookout", lk), ("flex", fx), ("ort", o)):
            best = results.get(key)
            if best is None or r["images_per_second"] > best["images_per_second"]:
                results[key] = r
    lk, fx, o = results["lookout"], results["flex"], results["ort"]
    print()
    print("| runtime | batch 1 p50 (ms) | batch 64 (img/s) | GFLOP/s (81.5 MFLOP/img) |")
    print("|---|---|---|---|")
    print(f"| Lookout CPU ({lk.get('kernel', '?')}: Winograd F(4x4,3x3) + packed GEMM) | {lk['batch1_ms_p50']:.3f} | {lk['images_per_second']:.0f} | {lk['gflops']:.1f} |")
    print(f"| burn 0.22.1 flex (the same network in burn) | {fx['batch1_ms_p50']:.3f} | {fx['images_per_second']:.0f} | {fx['gflops']:.1f} |")
    print(f"| ONNX Runtime {ort.__version__} CPU | {o['batch1_ms_p50']:.3f} | {o['images_per_second']:.0f} | {o['gflops']:.1f} |")
    print()
    print(f"throughput ratio Lookout / ONNX Runtime (batch 64): {lk['images_per_second'] / o['images_per_second']:.2f}")
    print(f"latency ratio Lookout / ONNX Runtime (batch 1 p50, lower is better): {lk['batch1_ms_p50'] / o['batch1_ms_p50']:.2f}")
    print(f"throughput ratio Lookout / burn flex (batch 64): {lk['images_per_second'] / fx['images_per_second']:.2f}")


if __name__ == "__main__":
    main()
