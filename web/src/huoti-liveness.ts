// <huoti-liveness>: the huoti web capture SDK, a custom element with no framework and no runtime
// dependencies. Policy clauses it implements (see ../../shared/POLICY.md): C1 (front camera;
// device model/OS only), C2 (every camera track stopped the moment capture ends: success, error,
// cancel, removal), P1 (camera refused → clear screen, `huoti-error` camera_denied, nothing
// uploaded), P2 (device info is a separate switch; off → no device headers, check still runs),
// L1 (separate consent to collect the face and to send it off the device).

import { HuotiHttpError, request } from './net.js';
import { type Key, type Lang, pickLang, t } from './i18n.js';

export type Action = 'turn_left' | 'turn_right' | 'nod' | 'blink' | 'open_mouth';
export interface Challenge {
  nonce: string;
  neutral_ms: number;
  actions: { action: Action; start_ms: number; end_ms: number }[];
  flashes: { rgb: [number, number, number]; start_ms: number; end_ms: number }[];
  reduced_flash: boolean;
  total_ms: number;
}
export interface Session {
  sessionId: string;
  token: string;
  challenge: Challenge;
}
export type State =
  | 'idle'
  | 'consent'
  | 'camera'
  | 'capture'
  | 'uploading'
  | 'analysing'
  | 'result'
  | 'error'
  | 'cancelled'
  | 'waiting';

const ICONS: Record<string, string> = {
  face: '<circle cx="12" cy="12" r="9"/><circle cx="9" cy="10" r="1"/><circle cx="15" cy="10" r="1"/><path d="M9 15h6"/>',
  turn_left: '<path d="M19 12H5m6-6-6 6 6 6"/>',
  turn_right: '<path d="M5 12h14m-6-6 6 6-6 6"/>',
  nod: '<path d="M12 4v16m-5-5 5 5 5-5"/>',
  blink: '<path d="M3 12c4 4 14 4 18 0M7 15l-1 2m5-1v2m4-2 1 2"/>',
  open_mouth: '<circle cx="12" cy="12" r="9"/><ellipse cx="12" cy="15" rx="3" ry="2.5"/>',
  flash: '<path d="M13 2 4 14h7l-1 8 9-12h-7z"/>',
  ok: '<path d="m5 12 5 5 9-10"/>',
  bad: '<path d="M6 6l12 12M18 6 6 18"/>',
};
const icon = (name: string) =>
  `<svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">${ICONS[name] ?? ''}</svg>`;

const CSS = `
:host{display:block;font:16px/1.5 system-ui,"Noto Sans CJK SC","DejaVu Sans",sans-serif;color:#111;max-width:520px;margin:auto}
.card{background:#fff;border:1px solid #ccc;border-radius:12px;padding:16px}
h2{font-size:1.25rem;margin:0 0 8px}
p{margin:8px 0}
label{display:flex;gap:8px;align-items:flex-start;margin:8px 0}
input[type=checkbox]{width:20px;height:20px;margin-top:2px;flex:none}
button{font:inherit;padding:10px 18px;border-radius:8px;border:2px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer;min-height:44px}
button.secondary{background:#fff;color:#0b57d0}
button:disabled{background:#8a8a8a;border-color:#8a8a8a;cursor:not-allowed}
button:focus-visible,input:focus-visible{outline:3px solid #e37400;outline-offset:2px}
.row{display:flex;gap:12px;flex-wrap:wrap;margin-top:12px}
.stage{position:relative;aspect-ratio:4/3;background:#222;border-radius:8px;overflow:hidden}
video{width:100%;height:100%;object-fit:cover;transform:scaleX(-1)}
.stage svg{position:absolute;inset:0;width:100%;height:100%}
.prompt{display:flex;gap:10px;align-items:center;font-size:1.15rem;font-weight:600;min-height:48px;margin-top:8px}
.hint{color:#a50e0e;min-height:1.5em}
.big{display:flex;gap:10px;align-items:center;font-size:1.5rem;font-weight:700}
.ok{color:#0d652d}.bad{color:#a50e0e}
progress{width:100%;height:12px}
.flash{position:fixed;inset:0;z-index:2147483647;pointer-events:none;display:flex;align-items:center;justify-content:center;font-size:1.5rem;font-weight:700;text-align:center;padding:24px}
.flash[hidden]{display:none}
.muted{color:#444;font-size:.9rem}
`;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...kids);
  return el;
}

/** Device info (C1: phone model, OS type and version, nothing else); only if the person allowed it (P2). */
async function deviceInfo(): Promise<Record<string, string>> {
  const clean = (s: unknown) =>
    String(s ?? '')
      .replace(/[^\x20-\x7e]/g, '')
      .trim()
      .slice(0, 64);
  const out: Record<string, string> = {};
  type UAData = { platform?: string; getHighEntropyValues?: (h: string[]) => Promise<Record<string, string>> };
  const ua = (navigator as Navigator & { userAgentData?: UAData }).userAgentData;
  try {
    const v = ua?.getHighEntropyValues ? await ua.getHighEntropyValues(['model', 'platformVersion']) : {};
    if (clean(v.model)) out['huoti-device-model'] = clean(v.model);
    out['huoti-os-type'] = clean(ua?.platform).toLowerCase() || 'web';
    if (clean(v.platformVersion)) out['huoti-os-version'] = clean(v.platformVersion);
  } catch {
    out['huoti-os-type'] = 'web';
  }
  return out;
}

export class HuotiLiveness extends HTMLElement {
  static observedAttributes = ['lang'];

  /** The challenge plan from `POST /v1/sessions` (or the `challenge` attribute, JSON). */
  challenge: Challenge | null = null;
  /** Frames per second captured (default 15). */
  fps = 15;

  private root: ShadowRoot;
  private body: HTMLElement;
  private titleEl: HTMLElement;
  private flashEl: HTMLElement;
  private _state: State = 'idle';
  private stream: MediaStream | null = null;
  private video: HTMLVideoElement | null = null;
  private timers: number[] = [];
  private abort: AbortController | null = null;
  private allowDevice = false;
  private reducedFlash = false;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.titleEl = h('h2', { id: 'title' });
    this.body = h('div');
    this.flashEl = h('div', { class: 'flash', hidden: true, 'aria-hidden': 'true' });
    this.root.append(
      h('style', {}, CSS),
      h('section', { class: 'card', part: 'card', 'aria-labelledby': 'title' }, this.titleEl, this.body),
      this.flashEl,
    );
  }

  get state(): State {
    return this._state;
  }
  private get uiLang(): Lang {
    return pickLang(this.getAttribute('lang'));
  }
  private tr(k: Key, v?: Record<string, string | number>) {
    return t(this.uiLang, k, v);
  }

  connectedCallback() {
    if (this._state === 'idle') this.renderConsent();
  }
  disconnectedCallback() {
    this.stopCapture(); // C2: removing the element releases the camera
    this.abort?.abort();
  }
  attributeChangedCallback() {
    if (this._state === 'consent') this.renderConsent();
  }

  /** Starts over with a new session (after `huoti-retry`); the person is asked to consent again. */
  setSession(s: Session) {
    this.stopCapture();
    this.abort?.abort();
    this.setAttribute('session-id', s.sessionId);
    this.setAttribute('token', s.token);
    this.challenge = s.challenge;
    this.renderConsent();
  }

  /** Stops capture now (C2) and reports `huoti-cancel`. */
  cancel() {
    if (['camera', 'capture', 'uploading', 'analysing', 'waiting'].includes(this._state)) {
      this.stopCapture();
      this.abort?.abort();
      this.emit('huoti-cancel', {});
      this.renderMessage('cancelled', 'cancelledTitle', this.tr('cancelled'), 'bad', true);
    }
  }

  private at(s: State): boolean {
    return this._state === s;
  }
  private setState(s: State) {
    this._state = s;
    this.setAttribute('state', s);
  }
  private emit(type: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
  private plan(): Challenge | null {
    if (this.challenge) return this.challenge;
    const a = this.getAttribute('challenge');
    try {
      return a ? (JSON.parse(a) as Challenge) : null;
    } catch {
      return null;
    }
  }

  private renderConsent() {
    this.setState('consent');
    const plan = this.plan();
    const secs = plan ? Math.ceil(plan.total_ms / 1000) : 15;
    this.titleEl.textContent = this.tr('title');
    const face = h('input', { type: 'checkbox', id: 'scope-face' });
    const upload = h('input', { type: 'checkbox', id: 'scope-upload' });
    const device = h('input', { type: 'checkbox', id: 'device-info', role: 'switch' });
    const reduced = h('input', { type: 'checkbox', id: 'reduced-flash' });
    reduced.checked = !!plan?.reduced_flash || matchMedia('(prefers-reduced-motion: reduce)').matches;
    const agree = h('button', { type: 'button', id: 'agree', disabled: true }, this.tr('agree'));
    const decline = h('button', { type: 'button', id: 'decline', class: 'secondary' }, this.tr('decline'));
    const sync = () => (agree.disabled = !(face.checked && upload.checked));
    face.onchange = upload.onchange = sync;
    agree.onclick = () => {
      this.allowDevice = device.checked;
      this.reducedFlash = reduced.checked;
      const scopes = ['face_capture', 'face_upload', ...(device.checked ? ['device_info'] : [])];
      this.emit('huoti-consent', {
        policyVersion: this.getAttribute('policy-version') || '1',
        sessionId: this.getAttribute('session-id'),
        scopes,
        reducedFlash: reduced.checked,
        at: new Date().toISOString(),
      });
      if (reduced.checked && plan && plan.flashes.length > 0) {
        // The plan has flashes: only the server can issue a plan without them.
        return this.waitForSession('reduced_flash');
      }
      void this.run();
    };
    decline.onclick = () => {
      this.emit('huoti-error', { code: 'consent_declined' });
      this.renderMessage('error', 'cancelledTitle', this.tr('cancelled'), 'bad', true);
    };
    this.body.replaceChildren(
      h('p', {}, this.tr('consentIntro', { s: secs })),
      h('p', { class: 'muted', id: 'policy-version' }, this.tr('policy', { v: this.getAttribute('policy-version') || '1' })),
      h('label', {}, face, this.tr('scopeFace')),
      h('label', {}, upload, this.tr('scopeUpload')),
      h('label', {}, device, this.tr('deviceInfo')),
      h('label', {}, reduced, this.tr('reducedFlash')),
      h('div', { class: 'row' }, agree, decline),
    );
  }

  private renderMessage(state: State, titleKey: Key, text: string, cls: string, retry: boolean, iconName = 'bad') {
    this.setState(state);
    this.titleEl.textContent = this.tr('title');
    const msg = h('p', { id: 'message' }, text);
    const kids: Node[] = [
      h('div', { class: `big ${cls}`, role: 'alert', id: 'headline' }),
      msg,
      h('p', { class: 'muted' }, this.tr('cameraOff')),
    ];
    (kids[0] as HTMLElement).innerHTML = icon(iconName);
    (kids[0] as HTMLElement).append(this.tr(titleKey));
    if (retry) {
      const b = h('button', { type: 'button', id: 'retry' }, this.tr('retry'));
      b.onclick = () => this.waitForSession(state);
      kids.push(h('div', { class: 'row' }, b));
    }
    this.body.replaceChildren(...kids);
    (this.body.querySelector('button') as HTMLButtonElement | null)?.focus();
  }

  /** "Try again": asks the host page for a new session (`huoti-retry`); it answers with `setSession`. */
  private waitForSession(reason: string) {
    this.setState('waiting');
    this.body.replaceChildren(h('p', { role: 'status', id: 'message' }, this.tr('waiting')));
    this.emit('huoti-retry', { reason, reducedFlash: this.reducedFlash });
  }

  private fail(code: string, textKey: Key, vars?: Record<string, string>) {
    this.stopCapture();
    this.abort?.abort();
    this.emit('huoti-error', { code });
    this.renderMessage('error', 'error', this.tr(textKey, vars), 'bad', true);
  }

  /** C2: stop every track the moment capture ends; nothing is captured after this. */
  private stopCapture() {
    for (const id of this.timers) clearInterval(id);
    this.timers = [];
    this.stream?.getTracks().forEach((tr) => tr.stop());
    this.stream = null;
    if (this.video) this.video.srcObject = null;
    this.flashEl.hidden = true;
  }

  private async run() {
    const plan = this.plan();
    const server = (this.getAttribute('server') || '').replace(/\/$/, '');
    const id = this.getAttribute('session-id');
    const token = this.getAttribute('token');
    if (!plan || !id || !token) return this.fail('bad_configuration', 'sessionError', { c: 'bad_configuration' });
    this.setState('camera');
    this.body.replaceChildren(h('p', { role: 'status' }, this.tr('askingCamera')));

    // P1: ask for the camera; refused → nothing is captured or uploaded.
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (e) {
      const name = (e as DOMException)?.name;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        this.emit('huoti-error', { code: 'camera_denied' });
        return this.renderMessage('error', 'cameraDeniedTitle', this.tr('cameraDenied'), 'bad', true);
      }
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      } catch {
        this.emit('huoti-error', { code: 'camera_unavailable' });
        return this.renderMessage('error', 'cameraUnavailableTitle', this.tr('cameraUnavailable'), 'bad', true);
      }
    }
    if (this._state !== 'camera') return this.stopCapture(); // cancelled or removed meanwhile

    const device = this.allowDevice ? await deviceInfo() : {}; // P2: off → no device headers
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const video = (this.video = h('video', { muted: true, playsinline: true, autoplay: true, 'aria-hidden': 'true' }));
    video.muted = true;
    video.srcObject = this.stream;
    const prompt = h('div', { class: 'prompt', role: 'status', 'aria-live': 'polite', id: 'prompt' });
    const hint = h('div', { class: 'hint', 'aria-live': 'polite', id: 'hint' });
    const progress = h('progress', { max: '100', value: '0', 'aria-label': this.tr('progress'), id: 'progress' });
    const cancel = h('button', { type: 'button', class: 'secondary', id: 'cancel' }, this.tr('cancel'));
    cancel.onclick = () => this.cancel();
    const stage = h('div', { class: 'stage' }, video);
    stage.insertAdjacentHTML(
      'beforeend',
      '<svg viewBox="0 0 400 300" aria-hidden="true" focusable="false"><defs><mask id="m"><rect width="400" height="300" fill="#fff"/><ellipse cx="200" cy="145" rx="88" ry="118" fill="#000"/></mask></defs><rect width="400" height="300" fill="rgba(0,0,0,.45)" mask="url(#m)"/><ellipse id="oval" cx="200" cy="145" rx="88" ry="118" fill="none" stroke="#fff" stroke-width="4"/></svg>',
    );
    this.setState('capture');
    this.body.replaceChildren(stage, prompt, hint, progress, h('div', { class: 'row' }, cancel));
    try {
      await video.play();
    } catch {
      /* autoplay of a muted stream is allowed; frames still arrive */
    }
    if (!this.at('capture')) return;

    // Time 0 of the challenge: the camera is playing (frames' t_ms share this origin).
    const t0 = performance.now();
    const canvas = document.createElement('canvas');
    const small = document.createElement('canvas');
    small.width = 32;
    small.height = 24;
    const sctx = small.getContext('2d', { willReadFrequently: true });
    let seq = 0;
    let captured = 0;
    let uploaded = 0;
    let fatal: unknown = null;
    const uploads: Promise<void>[] = [];
    let lastPrompt = '';
    let lastHint = '';
    const setProgress = () => {
      const pct = captured ? Math.round((100 * uploaded) / Math.max(captured, 1)) : 0;
      if (this.at('uploading')) progress.value = pct;
      if (this._state === 'uploading') prompt.lastChild!.textContent = this.tr('uploading', { p: pct });
    };
    const say = (key: Key, ic: string) => {
      if (key === lastPrompt) return;
      lastPrompt = key;
      prompt.innerHTML = icon(ic);
      prompt.append(h('span', {}, this.tr(key)));
    };

    const upload = (blob: Blob, s: number, tms: number) => {
      const url = `${server}/v1/sessions/${encodeURIComponent(id)}/frames?seq=${s}&t_ms=${tms}&nonce=${encodeURIComponent(plan.nonce)}`;
      const p = request(
        url,
        { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg', ...device }, body: blob },
        { timeoutMs: 10000, retries: 5, baseDelayMs: 300, signal },
      )
        .catch((e) => {
          if (e instanceof HuotiHttpError && e.code === 'duplicate_frame') return; // resumed retry: already stored
          fatal ??= e;
        })
        .then(() => {
          uploaded++;
          setProgress();
        });
      uploads.push(p);
      return true;
    };

    const tick = () => {
      const tms = Math.round(performance.now() - t0);
      if (tms >= plan.total_ms || fatal) return void finish();
      progress.value = Math.round((100 * tms) / plan.total_ms);
      // Prompts: neutral phase, flashes, actions, in between "hold still".
      const flash = this.reducedFlash ? undefined : plan.flashes.find((f) => tms >= f.start_ms && tms < f.end_ms);
      const step = plan.actions.find((a) => tms >= a.start_ms && tms < a.end_ms);
      if (flash) {
        this.flashEl.style.background = `rgb(${flash.rgb.join(',')})`;
        const [r, g, b] = flash.rgb;
        this.flashEl.style.color = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff';
        this.flashEl.textContent = this.tr('flash'); // visible over the colour; the live region announces it
        this.flashEl.hidden = false;
        say('flash', 'flash');
      } else {
        this.flashEl.hidden = true;
        if (step) say(step.action, step.action);
        else say(tms < plan.neutral_ms ? 'guide' : 'hold', 'face');
      }
      if (!useVfc) grab(tms);
    };

    // One frame every 1/fps s, stamped with the camera frame's own capture time when the browser
    // gives it (requestVideoFrameCallback), so a busy main thread does not skew t_ms.
    const grab = (tms: number) => {
      if (tms < 0 || tms >= plan.total_ms || video.readyState < 2 || !video.videoWidth) return;
      const w = Math.min(480, video.videoWidth);
      const hgt = Math.round((video.videoHeight * w) / video.videoWidth);
      if (canvas.width !== w) canvas.width = w;
      if (canvas.height !== hgt) canvas.height = hgt;
      canvas.getContext('2d')!.drawImage(video, 0, 0, w, hgt);
      const s = seq++;
      captured++;
      uploads.push(new Promise<void>((res) => canvas.toBlob((b) => (b && !signal.aborted && upload(b, s, tms), res()), 'image/jpeg', 0.85)));
      if (sctx && s % 5 === 0) {
        sctx.drawImage(video, 0, 0, 32, 24);
        const d = sctx.getImageData(0, 0, 32, 24).data;
        let y = 0;
        for (let i = 0; i < d.length; i += 4) y += 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        y /= d.length / 4;
        const k = y < 45 ? this.tr('tooDark') : y > 220 ? this.tr('tooBright') : '';
        if (k !== lastHint) hint.textContent = lastHint = k;
      }
    };

    let finished = false;
    const finish = async () => {
      if (finished) return;
      finished = true;
      // C2: capture ends now, so the camera is released now (frames already drawn still encode).
      this.stopCapture();
      if (!this.at('capture')) return;
      this.setState('uploading');
      hint.textContent = '';
      cancel.remove();
      prompt.replaceChildren(h('span', {}, ''));
      setProgress();
      for (let n = -1; n !== uploads.length; ) {
        n = uploads.length;
        await Promise.all(uploads);
      }
      if (!this.at('uploading')) return;
      if (fatal) return this.failFrom(fatal);
      this.setState('analysing');
      prompt.replaceChildren(h('span', {}, this.tr('analysing')));
      progress.removeAttribute('value');
      try {
        const r = (await request(
          `${server}/v1/sessions/${encodeURIComponent(id)}/complete`,
          { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' },
          { timeoutMs: 120000, retries: 1, baseDelayMs: 1000, signal },
        )) as { session_id: string; passed: boolean; decision?: string; score?: number; reasons?: unknown[] };
        this.emit('huoti-result', { sessionId: r.session_id, passed: r.passed, decision: r.decision, score: r.score, reasons: r.reasons });
        if (r.passed) this.renderMessage('result', 'verified', this.tr('verifiedDetail'), 'ok', false, 'ok');
        else this.renderMessage('result', 'notVerified', this.tr('notVerifiedDetail'), 'bad', true);
      } catch (e) {
        if (this.at('analysing')) this.failFrom(e);
      }
    };

    type VfcMeta = { captureTime?: number };
    type VfcVideo = HTMLVideoElement & { requestVideoFrameCallback?: (cb: (now: number, m: VfcMeta) => void) => number };
    const vv = video as VfcVideo;
    const useVfc = typeof vv.requestVideoFrameCallback === 'function';
    if (useVfc) {
      const period = 1000 / this.fps;
      let last = -1e9;
      const onFrame = (_now: number, m: VfcMeta) => {
        if (finished || !this.at('capture')) return;
        const wall = performance.now();
        const ft = m.captureTime !== undefined && Math.abs(m.captureTime - wall) < 1000 ? m.captureTime : wall;
        if (ft - last >= period * 0.8) {
          last = ft;
          grab(Math.round(ft - t0));
        }
        vv.requestVideoFrameCallback!(onFrame);
      };
      vv.requestVideoFrameCallback!(onFrame);
    }
    this.timers.push(window.setInterval(tick, useVfc ? 50 : Math.round(1000 / this.fps)));
    tick();
  }

  private failFrom(e: unknown) {
    if (e instanceof HuotiHttpError && e.status < 500 && e.code !== 'rate_limited') this.fail(e.code, 'sessionError', { c: e.code });
    else this.fail('network', 'networkError');
  }
}

if (!customElements.get('huoti-liveness')) customElements.define('huoti-liveness', HuotiLiveness);
