// Live placement hints for the oval guide: too dark, too bright, no face, too far, too close, off
// centre, several faces. The browser's FaceDetector (Shape Detection API) is used when it exists;
// otherwise a light heuristic on a downscaled frame: mean luminance for exposure, and skin-colour
// blobs (YCbCr box) for where the face is and how big. Hints only guide the person; the server
// decides liveness, so a wrong hint costs a moment, never a verdict.

export type Hint = '' | 'tooDark' | 'tooBright' | 'noFace' | 'tooFar' | 'tooClose' | 'offCentre' | 'severalFaces';

/** A face box in frame fractions (0..1), camera orientation (not mirrored). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Size of the frame the heuristic looks at: enough for a face blob, cheap at 3 Hz. */
export const GRID_W = 64;
export const GRID_H = 48;

// The oval drawn over the video (viewBox 400×300: centre 200,145, radii 88×118), as fractions.
const OVAL = { cx: 0.5, cy: 145 / 300, w: 176 / 400, h: 236 / 300 };

/** Judges placement from a face box (or boxes) against the oval. */
export function placement(faces: Box[]): Hint {
  if (faces.length === 0) return 'noFace';
  if (faces.length > 1) return 'severalFaces';
  const f = faces[0]!;
  if (f.w < OVAL.w * 0.5) return 'tooFar';
  if (f.w > OVAL.w * 1.45 || f.h > 0.98) return 'tooClose';
  const cx = f.x + f.w / 2;
  const cy = f.y + f.h / 2;
  if (Math.abs(cx - OVAL.cx) > OVAL.w * 0.35 || Math.abs(cy - OVAL.cy) > OVAL.h * 0.3) return 'offCentre';
  return '';
}

/** Exposure from RGBA pixels: mean luminance, and the share of clipped highlights. */
export function exposure(d: Uint8ClampedArray): Hint {
  let sum = 0;
  let clipped = 0;
  const n = d.length / 4;
  for (let i = 0; i < d.length; i += 4) {
    const y = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
    sum += y;
    if (y > 245) clipped++;
  }
  const mean = sum / n;
  if (mean < 50) return 'tooDark';
  if (mean > 215 || clipped / n > 0.35) return 'tooBright';
  return '';
}

/**
 * Skin-coloured blobs (4-connected) of an RGBA frame `w`×`h`, largest first, as boxes; blobs
 * under 1.5 % of the frame are noise (a hand's edge, warm wallpaper specks).
 */
export function skinBlobs(d: Uint8ClampedArray, w: number, h: number): (Box & { area: number })[] {
  const n = w * h;
  const skin = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const r = d[p * 4]!;
    const g = d[p * 4 + 1]!;
    const b = d[p * 4 + 2]!;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const cr = 128 + 0.5 * r - 0.4187 * g - 0.0813 * b;
    const cb = 128 - 0.1687 * r - 0.3313 * g + 0.5 * b;
    skin[p] = y > 35 && cr >= 135 && cr <= 178 && cb >= 77 && cb <= 130 ? 1 : 0;
  }
  const seen = new Uint8Array(n);
  const stack: number[] = [];
  const blobs: (Box & { area: number })[] = [];
  for (let s = 0; s < n; s++) {
    if (!skin[s] || seen[s]) continue;
    let area = 0;
    let x0 = w, y0 = h, x1 = 0, y1 = 0;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w;
      const y = (p - x) / w;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (const q of [x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1]) {
        if (q >= 0 && skin[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (area >= 0.015 * n) blobs.push({ x: x0 / w, y: y0 / h, w: (x1 - x0 + 1) / w, h: (y1 - y0 + 1) / h, area: area / n });
  }
  return blobs.sort((a, b) => b.area - a.area);
}

/** The heuristic hint for one downscaled RGBA frame. */
export function assess(d: Uint8ClampedArray, w: number, h: number): Hint {
  const e = exposure(d);
  if (e) return e;
  const blobs = skinBlobs(d, w, h);
  // A second blob counts as another face only when it is face-sized next to the first (a neck
  // or a hand touching the face merges into the first blob; small ones are ignored).
  const faces = blobs.filter((b, i) => i === 0 || b.area >= blobs[0]!.area * 0.45);
  return placement(faces);
}

type Detector = { detect(src: CanvasImageSource): Promise<{ boundingBox: DOMRectReadOnly }[]> };

/** Hints for a live video: FaceDetector when the browser has one, else [`assess`]. */
export class Guide {
  private detector: Detector | null = null;
  private busy = false;
  private ctx: CanvasRenderingContext2D | null;

  constructor() {
    const FD = (globalThis as { FaceDetector?: new (o: object) => Detector }).FaceDetector;
    try {
      this.detector = FD ? new FD({ fastMode: true, maxDetectedFaces: 3 }) : null;
    } catch {
      this.detector = null;
    }
    const c = document.createElement('canvas');
    c.width = GRID_W;
    c.height = GRID_H;
    this.ctx = c.getContext('2d', { willReadFrequently: true });
  }

  /** One look at the video; `undefined` while a previous look is still running. */
  async look(video: HTMLVideoElement): Promise<Hint | undefined> {
    if (this.busy || !this.ctx || !video.videoWidth) return undefined;
    this.busy = true;
    try {
      this.ctx.drawImage(video, 0, 0, GRID_W, GRID_H);
      const d = this.ctx.getImageData(0, 0, GRID_W, GRID_H).data;
      const e = exposure(d);
      if (e) return e;
      if (this.detector) {
        try {
          const faces = await this.detector.detect(video);
          const vw = video.videoWidth;
          const vh = video.videoHeight;
          return placement(faces.map((f) => ({ x: f.boundingBox.x / vw, y: f.boundingBox.y / vh, w: f.boundingBox.width / vw, h: f.boundingBox.height / vh })));
        } catch {
          this.detector = null; // unsupported on this device after all: use the heuristic
        }
      }
      return assess(d, GRID_W, GRID_H);
    } finally {
      this.busy = false;
    }
  }
}
