#!/usr/bin/env python3
"""OpenCV reference detections for YuNet -> fixture for the Rust detector tests.

For every still image (.jpg/.png) listed in the data MANIFEST.tsv this runs
OpenCV's ``cv2.FaceDetectorYN`` with a fixed contract that
``crates/huoti-vision`` replicates, and writes the detections as JSON:

* ``cv2.imread(path, cv2.IMREAD_COLOR)`` -- applies EXIF orientation; the
  recorded ``width``/``height`` are the *oriented* ones;
* letterbox: ``scale = min(1, MAX_SIDE / max(w, h))`` with MAX_SIDE = 640,
  ``rw = max(1, int(w*scale + 0.5))``, ``rh = max(1, int(h*scale + 0.5))``;
  when ``(rw, rh) != (w, h)`` the image is resized with ``cv2.INTER_LINEAR``;
* ``cv2.FaceDetectorYN.create(model, "", (rw, rh), score_threshold=0.5,
  nms_threshold=0.3, top_k=5000)``, ``setInputSize((rw, rh))``, ``detect``;
* boxes and landmarks are mapped back to original (oriented) pixels with
  ``sx = rw / w``, ``sy = rh / h`` (x/sx, y/sy, w/sx, h/sy);
* faces sorted by score descending; numbers rounded to 3 decimals.

Regenerate the committed fixture (from the repository root, after
``bench/setup_venv.sh``)::

    bench/.venv/bin/python tools/yunet_reference.py \\
        --data ../shared/data --models ../shared/models \\
        --out crates/huoti-vision/tests/fixtures/yunet_opencv.json

Those are also the defaults (resolved relative to the repository root, not
the current directory), so ``bench/.venv/bin/python tools/yunet_reference.py``
is enough. The fixture stores paths relative to the data directory exactly as
in MANIFEST.tsv; it never contains image data. Output depends (slightly) on
the OpenCV version, which is recorded in the file (see bench/requirements.txt
for the pinned version).
"""

import argparse
import csv
import hashlib
import json
import os
import sys

import cv2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_FILE = "face_detection_yunet_2026may.onnx"
MAX_SIDE = 640
SCORE_THRESHOLD = 0.5
NMS_THRESHOLD = 0.3
TOP_K = 5000


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def letterbox_size(w, h, max_side):
    scale = min(1.0, max_side / max(w, h))
    rw = max(1, int(w * scale + 0.5))
    rh = max(1, int(h * scale + 0.5))
    return rw, rh


def r3(v):
    return round(float(v), 3)


def detect(model_path, img):
    h, w = img.shape[:2]
    rw, rh = letterbox_size(w, h, MAX_SIDE)
    resized = img
    if (rw, rh) != (w, h):
        resized = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_LINEAR)
    det = cv2.FaceDetectorYN.create(
        model_path, "", (rw, rh),
        score_threshold=SCORE_THRESHOLD, nms_threshold=NMS_THRESHOLD, top_k=TOP_K)
    det.setInputSize((rw, rh))
    _, faces = det.detect(resized)
    sx, sy = rw / w, rh / h
    out = []
    if faces is not None:
        for f in faces:
            out.append({
                "box": [r3(f[0] / sx), r3(f[1] / sy), r3(f[2] / sx), r3(f[3] / sy)],
                "score": r3(f[14]),
                "landmarks": [[r3(f[4 + 2 * j] / sx), r3(f[5 + 2 * j] / sy)] for j in range(5)],
                "_raw_score": float(f[14]),
            })
    out.sort(key=lambda d: -d["_raw_score"])
    for d in out:
        del d["_raw_score"]
    return {"width": w, "height": h, "input": [rw, rh], "faces": out}


def dumps_fixture(doc):
    """JSON with one image header and one face per line (diff-friendly)."""
    head = {k: v for k, v in doc.items() if k != "images"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append(' "images": [')
    for i, img in enumerate(doc["images"]):
        meta = {k: v for k, v in img.items() if k != "faces"}
        faces = [json.dumps(f) for f in img["faces"]]
        body = json.dumps(meta)[:-1] + ', "faces": ['
        if faces:
            body += "\n    " + ",\n    ".join(faces) + "\n  "
        body += "]}"
        lines.append("  " + body + ("," if i + 1 < len(doc["images"]) else ""))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"),
                    help="data directory holding MANIFEST.tsv (default: ../shared/data)")
    ap.add_argument("--models", default=os.path.join(REPO, "..", "shared", "models"),
                    help="directory holding %s (default: ../shared/models)" % MODEL_FILE)
    ap.add_argument("--out", default=os.path.join(
        REPO, "crates", "huoti-vision", "tests", "fixtures", "yunet_opencv.json"),
        help="output JSON (default: crates/huoti-vision/tests/fixtures/yunet_opencv.json)")
    args = ap.parse_args()

    # OpenCV 5 warns on every create() that its new DNN engine ignores targets; harmless.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    model_path = os.path.join(args.models, MODEL_FILE)
    if not os.path.isfile(model_path):
        sys.exit("model not found: %s" % model_path)
    manifest = os.path.join(args.data, "MANIFEST.tsv")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    paths = sorted(r["path"] for r in rows if r["path"].lower().endswith((".jpg", ".png")))

    images = []
    for rel in paths:
        full = os.path.join(args.data, rel)
        img = cv2.imread(full, cv2.IMREAD_COLOR)
        if img is None:
            sys.exit("cannot read %s" % full)
        entry = {"path": rel}
        entry.update(detect(model_path, img))
        images.append(entry)

    doc = {
        "generator": "tools/yunet_reference.py",
        "opencv": cv2.__version__,
        "model": {"file": MODEL_FILE, "sha256": sha256(model_path)},
        "max_side": MAX_SIDE,
        "score_threshold": SCORE_THRESHOLD,
        "nms_threshold": NMS_THRESHOLD,
        "images": images,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(dumps_fixture(doc))

    print("%-50s %11s %9s %5s %6s" % ("image", "size", "input", "faces", "top"))
    for e in images:
        top = "%.3f" % e["faces"][0]["score"] if e["faces"] else "-"
        print("%-50s %11s %9s %5d %6s" % (
            e["path"], "%dx%d" % (e["width"], e["height"]),
            "%dx%d" % tuple(e["input"]), len(e["faces"]), top))
    print("wrote %s (opencv %s)" % (os.path.relpath(args.out), cv2.__version__))

    # Known cases from data/README.md (only checked when those images are listed).
    ok = True
    by_path = {e["path"]: e for e in images}
    checks = [
        ("ageitgey-face_recognition/two_people.jpg", "2 faces >= 0.6",
         lambda e: sum(f["score"] >= 0.6 for f in e["faces"]) == 2),
        ("ageitgey-face_recognition/obama3.jpg", "face found",
         lambda e: len(e["faces"]) >= 1),
    ]
    for rel, what, pred in checks:
        if rel in by_path:
            good = pred(by_path[rel])
            ok &= good
            print("check %-45s %-15s %s" % (rel, what, "ok" if good else "FAILED"))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
