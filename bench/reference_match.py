#!/usr/bin/env python3
"""Face match reference: milliseconds per embedding with OpenCV + onnxruntime, one thread.

The Python side of ``bench/match.sh``. It reads the JSON the Rust bench
(``crates/huoti-vision/benches/match.rs``) wrote -- per image, the face huoti
aligned (box, 5 landmarks, score) and huoti's template -- and embeds **the same
face** the way ``tools/sface_reference.py`` makes the test fixture:

* ``embed``        -- ``cv2.FaceRecognizerSF.alignCrop`` (112x112, similarity
                      transform from the 5 landmarks) + SFace through
                      onnxruntime on a float32 copy of the pinned file folded in
                      a temporary directory (``sface_reference.fold``): the weights
                      huoti runs, so this compares the engines;
* ``embed_pinned`` -- the same with onnxruntime on the pinned block-quantised
                      file as it is (it dequantises its weights on every run):
                      what a plain onnxruntime user gets.

Each is timed ``--repeat`` times per image after one warm-up (the image read
once, untimed, as on the Rust side). ``cosine`` is, per image, the cosine
between huoti's template and the reference's: the two sides did the same work
only if it is ~1 (the fixture test holds it at >= 0.999).

Sessions use ``intra_op_num_threads=1, inter_op_num_threads=1`` and
``cv2.setNumThreads(1)``.

Usage (from the repository root, after ``bench/setup_venv.sh``)::

    bench/.venv/bin/python bench/reference_match.py --huoti bench/out/match_huoti.json \\
        --models models --json bench/out/match_reference.json
"""

import argparse
import json
import os
import sys
import tempfile
import time

import cv2
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import sface_reference  # noqa: E402  (fold, the onnxruntime wrapper, face_row)


def stats(ms):
    v = sorted(ms)
    return {"median_ms": v[len(v) // 2] if v else 0.0, "mean_ms": sum(v) / max(len(v), 1), "n": len(v)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--huoti", required=True, help="the Rust bench's JSON (faces, templates)")
    ap.add_argument("--models", default="models", help="directory with the pinned SFace file")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    huoti = json.load(open(args.huoti))
    pinned_path = os.path.join(args.models, sface_reference.SFACE)
    if not os.path.isfile(pinned_path):
        sys.exit(f"{pinned_path} is missing: huoti models fetch --dir {args.models}")
    with tempfile.TemporaryDirectory() as tmp:
        folded_path = os.path.join(tmp, "sface_folded.onnx")
        sface_reference.fold(pinned_path, folded_path)
        aligner = cv2.FaceRecognizerSF.create(folded_path, "")
        engines = {"embed": sface_reference.OnnxSFace(folded_path), "embed_pinned": sface_reference.OnnxSFace(pinned_path)}
        times = {k: [] for k in engines}
        rows = []
        for row in huoti["images"]:
            img = cv2.imread(row["image"], cv2.IMREAD_COLOR)
            face = sface_reference.face_row(row["face"])
            row_out = {"image": row["image"]}
            for name, engine in engines.items():
                emb = engine.embed(aligner.alignCrop(img, face))  # warm-up
                mine = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    engine.embed(aligner.alignCrop(img, face))
                    mine.append((time.perf_counter() - t) * 1000.0)
                times[name] += mine
                row_out[f"{name}_median_ms"] = stats(mine)["median_ms"]
                row_out[f"{name}_cosine"] = float(np.dot(emb, np.asarray(row["template"], np.float64)))
            rows.append(row_out)
    out = {"runtime": f"onnxruntime {sface_reference.ort.__version__} + OpenCV {cv2.__version__}",
           "repeat": args.repeat, "images": rows, **{k: stats(v) for k, v in times.items()}}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps({k: out[k] for k in engines}))


if __name__ == "__main__":
    main()
