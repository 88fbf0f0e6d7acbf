// <huoti-liveness>: the huoti web capture SDK, a custom element with no framework and no runtime
// dependencies. Policy clauses it implements (see docs/POLICY.md): C1 (front camera;
// device model/OS only), C2 (every camera track stopped the moment capture ends: success, error,
// cancel, removal), P1 (camera refused → clear screen, `huoti-error` camera_denied, nothing
// uploaded), P2 (device info is a separate switch; off → no device headers, check still runs),
// L1 (separate consent to collect the face and to send it off the device; the agree click is
// recorded by the server, `POST /v1/sessions/{id}/consent`, before the camera opens).

import { HuotiHttpError, type Pending, type PolicyInfo, Uploader, request } from './net.js';
import { type Key, type Lang, hintKey, pickLang, t } from './i18n.js';
import { Guide, type Hint } from './guide.js';

export type Action = 'turn_left' | 'turn_right' | 'nod' | 'blink' | 'open_mouth';
export interface Challenge {
  nonce: string;
  neutral_ms: number;
  actions: { action: Action; start_ms: number; end_ms: number }[];
  flashes: { rgb: [number, number, number]; start_ms: number; end_ms: number }[];
  reduced_flash: boolean;
  /** Each light step fades in from the previous colour over its first `transition_ms` (0 or absent: a hard cut). */
  transition_ms?: number;
  total_ms: number;
  /** How to capture (servers since issue 15): frame width, JPEG quality, frames per second by part. Absent: 480 px, 0.85, 15 fps. */
  capture?: CaptureProfile;
}
/** The server's capture profile: what its analysis uses, so a check sends as few bytes as it can. */
export interface CaptureProfile {
  /** Frame width, px (never scaled up). */
  width: number;
  /** JPEG quality, percent. */
  jpeg_quality: number;
  /** Frames per second outside every span. */
  idle_fps: number;
  /** Parts of the challenge, `[start_ms, end_ms)`, that need more frames. */
  spans: { start_ms: number; end_ms: number; fps: number }[];
}

/** Frames per second the profile wants at challenge time `tms` (at least 1). */
export function fpsAt(p: CaptureProfile, tms: number): number {
  const span = p.spans.find((s) => tms >= s.start_ms && tms < s.end_ms);
  return Math.max(1, span ? span.fps : p.idle_fps);
}

/**
 * Whether to send the camera frame captured at `tms` (whole ms), the last one sent having been
 * captured at `last` (null: none yet): when it falls in a later slot of the `1 / fps` grid than
 * the last one, so any faster camera gives exactly the wanted rate on average, whatever its
 * jitter. The same rule as the server's `CaptureProfile::wants`.
 */
export function wantsFrame(p: CaptureProfile, tms: number, last: number | null): boolean {
  if (last === null) return true;
  const fps = fpsAt(p, tms);
  return tms > last && Math.floor((tms * fps) / 1000) > Math.floor((last * fps) / 1000);
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
.nudge{color:#0b57d0;font-weight:600;min-height:1.5em}
.big{display:flex;gap:10px;align-items:center;font-size:1.5rem;font-weight:700}
.ok{color:#0d652d}.bad{color:#a50e0e}
progress{width:100%;height:12px}
.flash{position:fixed;inset:0;z-index:2147483647;pointer-events:none;display:flex;align-items:center;justify-content:center;font-size:1.5rem;font-weight:700;text-align:center;padding:24px}
.flash[hidden]{display:none}
.muted{color:#444;font-size:.9rem}
#oval{transition:stroke .2s}
.stage.off #oval{stroke:#f9ab00}
select{font:inherit;min-height:44px;padding:6px;border-radius:6px;border:1px solid #767676;max-width:100%}
.notice{color:#a50e0e}
`;

/** Wire scopes (consent contract): the two L1 consents together are `face_capture_and_upload`. */
const SCOPE_FACE = 'face_capture_and_upload';
const SCOPE_DEVICE = 'device_info';
/** Face match (1:1 against the person's reference): its own consent, asked apart (C6). */
const SCOPE_FACE_COMPARISON = 'face_comparison';
/** The camera the person chose last time (a device id, meaningless to anyone else). */
const CAMERA_KEY = 'huoti-liveness.camera';
const store = {
  get: (k: string) => {
    try {
      return localStorage.getItem(k);
    } catch {
      return null; // storage blocked (sandboxed frame, privacy mode)
    }
  },
  set: (k: string, v: string) => {
    try {
      localStorage.setItem(k, v);
    } catch {
      /* not remembered: the picker still works for this check */
    }
  },
};

/** Styles the shadow root without a <style> element, so pages with a strict CSP (no inline styles) work. */
function adoptStyles(root: ShadowRoot): boolean {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    return true;
  } catch {
    return false;
  }
}

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

const toLinear = (v: number) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const toSrgb = (l: number) => Math.round(255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055));
/** The page's grey before a light step: a first step fades in from it. */
const UI_GREY: [number, number, number] = [188, 188, 188];

/**
 * The colour the light overlay shows at `tms`, or undefined outside the light steps. During a
 * step's first `transition_ms` it is blended, in linear light (what the face receives), from
 * the previous step's colour (or the page's grey after a gap).
 */
export function lightAt(plan: Challenge, tms: number): [number, number, number] | undefined {
  const i = plan.flashes.findIndex((f) => tms >= f.start_ms && tms < f.end_ms);
  const step = plan.flashes[i];
  if (!step) return undefined;
  const fade = plan.transition_ms ?? 0;
  const done = fade > 0 ? Math.min(1, (tms - step.start_ms) / fade) : 1;
  if (done >= 1) return step.rgb;
  const before = plan.flashes[i - 1];
  const prev = before && before.end_ms === step.start_ms ? before.rgb : UI_GREY;
  const mix = (k: 0 | 1 | 2) => toSrgb(toLinear(prev[k]) + (toLinear(step.rgb[k]) - toLinear(prev[k])) * done);
  return [mix(0), mix(1), mix(2)];
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
  private policy: PolicyInfo | null = null;
  /** Frames of the current session held until stored, for "Send the rest". */
  private uploader: Uploader | null = null;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.titleEl = h('h2', { id: 'title' });
    this.body = h('div');
    this.flashEl = h('div', { class: 'flash', hidden: true, 'aria-hidden': 'true' });
    if (!adoptStyles(this.root)) this.root.append(h('style', {}, CSS));
    this.root.append(
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
    this.uploader = null; // frames held for a resumed upload go with the element
  }
  attributeChangedCallback() {
    if (this._state === 'consent') this.renderConsent();
  }

  /** Starts over with a new session (after `huoti-retry`); the person is asked to consent again. */
  setSession(s: Session) {
    this.stopCapture();
    this.abort?.abort();
    this.uploader = null;
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

  private get server(): string {
    return (this.getAttribute('server') || '').replace(/\/$/, '');
  }

  /** The policy to agree to: `GET /v1/policy`, else the `policy-version` attribute (a server without a consent ledger). */
  private async loadPolicy(): Promise<PolicyInfo | null> {
    try {
      return (await request(`${this.server}/v1/policy`, { method: 'GET' }, { timeoutMs: 10000, retries: 2, baseDelayMs: 500 })) as PolicyInfo;
    } catch {
      // No policy endpoint (a server without a consent ledger): the host's attribute, if any.
      return { version: this.getAttribute('policy-version') ?? '' };
    }
  }

  private renderConsent(notice?: Key) {
    this.setState('consent');
    const plan = this.plan();
    const secs = plan ? Math.ceil(plan.total_ms / 1000) : 15;
    this.titleEl.textContent = this.tr('title');
    const face = h('input', { type: 'checkbox', id: 'scope-face' });
    const upload = h('input', { type: 'checkbox', id: 'scope-upload' });
    const device = h('input', { type: 'checkbox', id: 'device-info', role: 'switch' });
    const reduced = h('input', { type: 'checkbox', id: 'reduced-flash' });
    // Asked only when the host's session compares faces (attribute `face-comparison`); never
    // ticked for the person and never needed to agree: refusing it leaves the liveness check
    // whole (C6), the verdict then says `not_consented`.
    const comparison = this.hasAttribute('face-comparison') ? h('input', { type: 'checkbox', id: 'scope-face-comparison' }) : null;
    reduced.checked = this.reducedFlash || !!plan?.reduced_flash || matchMedia('(prefers-reduced-motion: reduce)').matches;
    const agree = h('button', { type: 'button', id: 'agree', disabled: true }, this.tr('agree'));
    const decline = h('button', { type: 'button', id: 'decline', class: 'secondary' }, this.tr('decline'));
    const version = h('p', { class: 'muted', id: 'policy-version' }, this.tr('policyLoading'));
    const sync = () => (agree.disabled = !(face.checked && upload.checked && this.policy));
    face.onchange = upload.onchange = sync;
    const showPolicy = (p: PolicyInfo | null) => {
      this.policy = p;
      version.replaceChildren(this.tr('policy', { v: p?.version || '—' }));
      if (p?.url) {
        const a = h('a', { href: new URL(p.url, this.server || location.href).href, target: '_blank', rel: 'noopener' }, this.tr('policyLink'));
        version.append(' · ', a);
      }
      sync();
    };
    this.policy = null;
    void this.loadPolicy().then((p) => this.at('consent') && showPolicy(p));
    agree.onclick = () => {
      agree.disabled = true;
      this.allowDevice = device.checked;
      this.reducedFlash = reduced.checked;
      if (reduced.checked && plan && plan.flashes.length > 0 && !plan.reduced_flash) {
        // The plan uses the standard light profile: only the server can issue one in the
        // photosensitivity-safe profile (it never removes the light step). Nothing is recorded
        // for this session; the person agrees again on the new one.
        return this.waitForSession('reduced_flash');
      }
      void this.recordConsent([SCOPE_FACE, ...(device.checked ? [SCOPE_DEVICE] : []), ...(comparison?.checked ? [SCOPE_FACE_COMPARISON] : [])]);
    };
    decline.onclick = () => {
      this.emit('huoti-error', { code: 'consent_declined' });
      this.renderMessage('error', 'cancelledTitle', this.tr('cancelled'), 'bad', true);
    };
    this.body.replaceChildren(
      ...(notice ? [h('p', { class: 'notice', role: 'alert', id: 'notice' }, this.tr(notice))] : []),
      h('p', {}, this.tr('consentIntro', { s: secs })),
      version,
      h('label', {}, face, this.tr('scopeFace')),
      h('label', {}, upload, this.tr('scopeUpload')),
      ...(comparison ? [h('label', {}, comparison, this.tr('scopeFaceComparison'))] : []),
      h('label', {}, device, this.tr('deviceInfo')),
      h('label', {}, reduced, this.tr('reducedFlash')),
      h('div', { class: 'row' }, agree, decline),
    );
  }

  /** The agree click, recorded by the server before the camera opens (L1); then the check runs. */
  private async recordConsent(scopes: string[]) {
    const id = this.getAttribute('session-id');
    const token = this.getAttribute('token');
    const version = this.policy?.version ?? '';
    let record: { consent_id?: string; recorded_at?: string } = {};
    try {
      record = (await request(
        `${this.server}/v1/sessions/${encodeURIComponent(id ?? '')}/consent`,
        {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ policy_version: version, scopes, channel: 'web' }),
        },
        { timeoutMs: 10000, retries: 3, baseDelayMs: 500 },
      )) as typeof record;
    } catch (e) {
      if (!this.at('consent')) return;
      if (e instanceof HuotiHttpError && e.code === 'policy_outdated') return this.renderConsent('policyOutdated');
      // A server without the consent endpoint (route not found) has no ledger to record in;
      // the check runs, and a server that has one refuses frames without it (consent_required).
      if (e instanceof HuotiHttpError && e.status === 404 && e.code === 'not_found') return this.afterConsent(scopes, version, {});
      const code = e instanceof HuotiHttpError ? e.code : 'network';
      this.emit('huoti-error', { code });
      return this.renderMessage('error', 'error', this.tr('consentError', { c: code }), 'bad', true);
    }
    if (this.at('consent')) this.afterConsent(scopes, version, record);
  }

  private afterConsent(scopes: string[], version: string, record: { consent_id?: string; recorded_at?: string }) {
    const id = this.getAttribute('session-id');
    this.emit('huoti-consent', {
      policyVersion: version,
      sessionId: id,
      scopes,
      consentId: record.consent_id,
      reducedFlash: this.reducedFlash,
      at: record.recorded_at ?? new Date().toISOString(),
    });
    void this.run();
  }

  private renderMessage(state: State, titleKey: Key, text: string, cls: string, retry: boolean, iconName = 'bad', extra: Node[] = []) {
    this.setState(state);
    this.titleEl.textContent = this.tr('title');
    const head = h('div', { class: `big ${cls}`, role: 'alert', id: 'headline' });
    head.innerHTML = icon(iconName);
    head.append(this.tr(titleKey));
    const kids: Node[] = [head, h('p', { id: 'message' }, text), h('p', { class: 'muted' }, this.tr('cameraOff'))];
    const buttons: Node[] = [...extra];
    if (retry) {
      const b = h('button', { type: 'button', id: 'retry', class: extra.length ? 'secondary' : '' }, this.tr(extra.length ? 'startOver' : 'retry'));
      b.onclick = () => this.waitForSession(state);
      buttons.push(b);
    }
    if (buttons.length) kids.push(h('div', { class: 'row' }, ...buttons));
    this.body.replaceChildren(...kids);
    (this.body.querySelector('button') as HTMLButtonElement | null)?.focus();
  }

  /** "Try again": asks the host page for a new session (`huoti-retry`); it answers with `setSession`. */
  private waitForSession(reason: string) {
    this.stopCapture();
    this.abort?.abort();
    this.uploader = null;
    this.setState('waiting');
    this.body.replaceChildren(h('p', { role: 'status', id: 'message' }, this.tr(reason === 'camera_changed' ? 'cameraChanged' : 'waiting')));
    this.emit('huoti-retry', { reason, reducedFlash: this.reducedFlash });
  }

  private fail(code: string, textKey: Key, vars?: Record<string, string>) {
    this.stopCapture();
    this.abort?.abort();
    this.uploader = null;
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

  /** C1: the front camera, or the one the person picked before; P1: refused → `null`, nothing captured. */
  private async openCamera(): Promise<MediaStream | null> {
    const size = { width: { ideal: 640 }, height: { ideal: 480 } };
    const picked = store.get(CAMERA_KEY);
    const tries: MediaStreamConstraints[] = [
      ...(picked ? [{ video: { deviceId: { exact: picked }, ...size }, audio: false }] : []),
      { video: { facingMode: 'user', ...size }, audio: false },
      { video: true, audio: false },
    ];
    for (const c of tries) {
      try {
        return await navigator.mediaDevices.getUserMedia(c);
      } catch (e) {
        const name = (e as DOMException)?.name;
        if (name === 'NotAllowedError' || name === 'SecurityError') {
          this.emit('huoti-error', { code: 'camera_denied' });
          this.renderMessage('error', 'cameraDeniedTitle', this.tr('cameraDenied'), 'bad', true);
          return null;
        }
        // Overconstrained / not found: the picked camera is gone, or no facing mode; next try.
      }
    }
    this.emit('huoti-error', { code: 'camera_unavailable' });
    this.renderMessage('error', 'cameraUnavailableTitle', this.tr('cameraUnavailable'), 'bad', true);
    return null;
  }

  /** A camera picker when there is more than one; a change starts a new check with that camera. */
  private async picker(): Promise<HTMLElement | null> {
    let cams: MediaDeviceInfo[] = [];
    try {
      cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput' && d.deviceId);
    } catch {
      return null;
    }
    if (cams.length < 2) return null;
    const current = this.stream?.getVideoTracks()[0]?.getSettings().deviceId;
    const select = h('select', { id: 'camera' });
    cams.forEach((c, i) => {
      const o = h('option', { value: c.deviceId }, c.label || `${this.tr('camera')} ${i + 1}`);
      o.selected = c.deviceId === current;
      select.append(o);
    });
    select.onchange = () => {
      store.set(CAMERA_KEY, select.value);
      // The challenge's clock started with the old camera: a new session keeps timings honest.
      this.waitForSession('camera_changed');
    };
    return h('label', { class: 'row' }, this.tr('camera'), select);
  }

  private async run() {
    const plan = this.plan();
    const server = this.server;
    const id = this.getAttribute('session-id');
    const token = this.getAttribute('token');
    if (!plan || !id || !token) return this.fail('bad_configuration', 'sessionError', { c: 'bad_configuration' });
    this.setState('camera');
    this.body.replaceChildren(h('p', { role: 'status' }, this.tr('askingCamera')));

    const stream = await this.openCamera();
    if (!stream) return;
    this.stream = stream;
    if (this._state !== 'camera') return this.stopCapture(); // cancelled or removed meanwhile

    const device = this.allowDevice ? await deviceInfo() : {}; // P2: off → no device headers
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const video = (this.video = h('video', { muted: true, playsinline: true, autoplay: true, 'aria-hidden': 'true' }));
    video.muted = true;
    video.srcObject = this.stream;
    const prompt = h('div', { class: 'prompt', role: 'status', 'aria-live': 'polite', id: 'prompt' });
    const hint = h('div', { class: 'hint', role: 'status', 'aria-live': 'polite', id: 'hint' });
    // The server's prompt for the open action window ("turn a little further"), from the answer
    // to the latest frame upload.
    const nudge = h('div', { class: 'nudge', role: 'status', 'aria-live': 'polite', id: 'action-hint' });
    const progress = h('progress', { max: '100', value: '0', 'aria-label': this.tr('progress'), id: 'progress' });
    const cancel = h('button', { type: 'button', class: 'secondary', id: 'cancel' }, this.tr('cancel'));
    cancel.onclick = () => this.cancel();
    const stage = h('div', { class: 'stage' }, video);
    stage.insertAdjacentHTML(
      'beforeend',
      '<svg viewBox="0 0 400 300" aria-hidden="true" focusable="false"><defs><mask id="m"><rect width="400" height="300" fill="#fff"/><ellipse cx="200" cy="145" rx="88" ry="118" fill="#000"/></mask></defs><rect width="400" height="300" fill="rgba(0,0,0,.45)" mask="url(#m)"/><ellipse id="oval" cx="200" cy="145" rx="88" ry="118" fill="none" stroke="#fff" stroke-width="4"/></svg>',
    );
    const controls = h('div', { class: 'row' }, cancel);
    this.setState('capture');
    this.body.replaceChildren(stage, prompt, nudge, hint, progress, controls);
    void this.picker().then((p) => p && this.at('capture') && controls.prepend(p));
    try {
      await video.play();
    } catch {
      /* autoplay of a muted stream is allowed; frames still arrive */
    }
    if (!this.at('capture')) return;

    // Time 0 of the challenge: the camera is playing (frames' t_ms share this origin).
    const t0 = performance.now();
    // The server's capture profile (issue 15): its width, quality and rates; without one (older
    // servers) 480 px at 0.85, `fps` frames a second.
    const profile = plan.capture;
    const maxWidth = profile ? Math.max(1, profile.width) : 480;
    const quality = profile ? Math.min(100, Math.max(1, profile.jpeg_quality)) / 100 : 0.85;
    let lastSent: number | null = null;
    const canvas = document.createElement('canvas');
    const guide = new Guide();
    let seq = 0;
    let lastPrompt = '';
    let lastHint: Hint = '';
    // The answer of the highest frame answered so far (uploads overlap) carries the prompt.
    let answered = -1;
    let serverHint: { step: number; action: string; code: string } | null = null;
    let lastNudge: Key | null = null;
    const onAnswer = (s: number, a: unknown) => {
      if (s <= answered) return;
      answered = s;
      serverHint = (a as { hint?: { step: number; action: string; code: string } } | null)?.hint ?? null;
    };
    const up = (this.uploader = new Uploader(
      (p: Pending) =>
        request(
          `${server}/v1/sessions/${encodeURIComponent(id)}/frames?seq=${p.seq}&t_ms=${p.tMs}&nonce=${encodeURIComponent(plan.nonce)}`,
          { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg', ...device }, body: p.blob },
          { timeoutMs: 10000, retries: 5, baseDelayMs: 300, signal },
        ).then((a) => (onAnswer(p.seq, a), a)),
      () => {
        if (this.at('uploading')) {
          const pct = Math.round((100 * up.stored) / Math.max(up.total, 1));
          progress.value = pct;
          prompt.lastChild!.textContent = this.tr('uploading', { p: pct });
        }
      },
    ));
    const encoding: Promise<void>[] = [];
    const say = (key: Key, ic: string) => {
      if (key === lastPrompt) return;
      lastPrompt = key;
      prompt.innerHTML = icon(ic);
      prompt.append(h('span', {}, this.tr(key)));
    };

    const tick = () => {
      const tms = Math.round(performance.now() - t0);
      if (tms >= plan.total_ms || up.fatal) return void finish();
      progress.value = Math.round((100 * tms) / plan.total_ms);
      // Prompts: neutral phase, flashes, actions, in between "hold still".
      // Shown whatever the person chose: the server picked the light profile (the safe one
      // fades between colours of equal luminance), and the check needs the light.
      const flash = lightAt(plan, tms);
      const step = plan.actions.find((a) => tms >= a.start_ms && tms < a.end_ms);
      if (flash) {
        this.flashEl.style.background = `rgb(${flash.join(',')})`;
        const [r, g, b] = flash;
        this.flashEl.style.color = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff';
        this.flashEl.textContent = this.tr('flash'); // visible over the colour; the live region announces it
        this.flashEl.hidden = false;
        say('flash', 'flash');
      } else {
        this.flashEl.hidden = true;
        if (step) say(step.action, step.action);
        else say(tms < plan.neutral_ms ? 'guide' : 'hold', 'face');
      }
      // The server's prompt, only while its step's window is open (and no colour is shown).
      const sh = serverHint as { step: number; action: string; code: string } | null;
      const nk = !flash && step && sh && plan.actions[sh.step] === step && sh.action === step.action ? hintKey(sh.code) : null;
      if (nk !== lastNudge) {
        lastNudge = nk;
        nudge.textContent = nk ? this.tr(nk) : '';
      }
      if (!useVfc) grab(tms);
    };

    // Placement hints, about 3 a second; during a flash the colour would fool the exposure check.
    const look = async () => {
      if (!this.at('capture') || !this.flashEl.hidden) return;
      const k = await guide.look(video);
      if (k === undefined || !this.at('capture') || k === lastHint) return;
      lastHint = k;
      hint.textContent = k ? this.tr(k) : '';
      stage.classList.toggle('off', !!k);
    };

    // One frame every 1/fps s (or as the capture profile asks), stamped with the camera frame's
    // own capture time when the browser gives it (requestVideoFrameCallback), so a busy main
    // thread does not skew t_ms.
    const grab = (tms: number) => {
      if (tms < 0 || tms >= plan.total_ms || video.readyState < 2 || !video.videoWidth) return;
      if (profile && !wantsFrame(profile, tms, lastSent)) return;
      lastSent = tms;
      const w = Math.min(maxWidth, video.videoWidth);
      const hgt = Math.round((video.videoHeight * w) / video.videoWidth);
      if (canvas.width !== w) canvas.width = w;
      if (canvas.height !== hgt) canvas.height = hgt;
      canvas.getContext('2d')!.drawImage(video, 0, 0, w, hgt);
      const s = seq++;
      encoding.push(new Promise<void>((res) => canvas.toBlob((b) => (b && !signal.aborted && up.add({ seq: s, tMs: tms, blob: b }), res()), 'image/jpeg', quality)));
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
      nudge.remove();
      controls.remove();
      prompt.replaceChildren(h('span', {}, ''));
      await Promise.all(encoding);
      await this.deliver(up, progress, prompt);
    };
    const complete = async () => {
      this.setState('analysing');
      prompt.replaceChildren(h('span', {}, this.tr('analysing')));
      progress.removeAttribute('value');
      try {
        const r = (await request(
          `${server}/v1/sessions/${encodeURIComponent(id)}/complete`,
          { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' },
          { timeoutMs: 120000, retries: 1, baseDelayMs: 1000, signal },
        )) as { session_id: string; passed: boolean; decision?: string; score?: number; reasons?: unknown[] };
        this.uploader = null;
        this.emit('huoti-result', { sessionId: r.session_id, passed: r.passed, decision: r.decision, score: r.score, reasons: r.reasons });
        if (r.passed) this.renderMessage('result', 'verified', this.tr('verifiedDetail'), 'ok', false, 'ok');
        else this.renderMessage('result', 'notVerified', this.tr('notVerifiedDetail'), 'bad', true);
      } catch (e) {
        if (this.at('analysing')) this.failFrom(e);
      }
    };
    this.completeSession = complete;

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
        // With a profile every camera frame is offered and `grab` picks (the profile's rule).
        if (profile || ft - last >= period * 0.8) {
          last = ft;
          grab(Math.round(ft - t0));
        }
        vv.requestVideoFrameCallback!(onFrame);
      };
      vv.requestVideoFrameCallback!(onFrame);
    }
    // Without frame callbacks the tick grabs: at the profile's fastest rate's pace (20 ms: fine
    // enough that `grab` picks each frame close to when it is due), else every 1/fps s.
    this.timers.push(window.setInterval(tick, useVfc ? 50 : profile ? 20 : Math.round(1000 / this.fps)));
    this.timers.push(window.setInterval(() => void look(), 330));
    tick();
  }

  private completeSession: (() => Promise<void>) | null = null;

  /**
   * Waits for the held frames to reach the server, then completes. A stalled network ends in a
   * clear error with "Send the rest" (same session: only frames the server lacks are sent again)
   * and "Start over" (a new session); never an endless spinner.
   */
  private async deliver(up: Uploader, progress: HTMLProgressElement, prompt: HTMLElement) {
    await up.idle();
    if (up.stalled && !up.fatal && this.at('uploading') && performance.now() - up.stalledAt > 3000) {
      // The network went down a while ago and may be back: one more go before asking. (A
      // stall that has just happened already used its retries; asking is quicker.)
      up.resume();
      await up.idle();
    }
    if (!this.at('uploading') || this.uploader !== up) return;
    if (up.fatal) return this.failFrom(up.fatal);
    if (up.stalled) {
      const resume = h('button', { type: 'button', id: 'resume' }, this.tr('resume'));
      resume.onclick = () => {
        this.setState('uploading');
        this.body.replaceChildren(prompt, progress);
        prompt.replaceChildren(h('span', {}, this.tr('uploading', { p: Math.round((100 * up.stored) / Math.max(up.total, 1)) })));
        up.resume();
        void this.deliver(up, progress, prompt);
      };
      this.emit('huoti-error', { code: 'network', resumable: true });
      return this.renderMessage('error', 'error', this.tr('stalled', { n: up.left }), 'bad', true, 'bad', [resume]);
    }
    await this.completeSession?.();
  }

  private failFrom(e: unknown) {
    if (e instanceof HuotiHttpError && e.status < 500 && e.code !== 'rate_limited') this.fail(e.code, 'sessionError', { c: e.code });
    else this.fail('network', 'networkError');
  }
}

if (!customElements.get('huoti-liveness')) customElements.define('huoti-liveness', HuotiLiveness);
