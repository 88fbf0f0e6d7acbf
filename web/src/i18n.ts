// Strings shown by <huoti-liveness>, in zh-CN and en. Keys are stable; add a language by adding
// a table with every key.

export type Lang = 'zh-CN' | 'en';

const en = {
  title: 'Face liveness check',
  consentIntro:
    'To confirm that you are a real person present right now, this check uses your front camera for about {s} seconds and sends the captured images to the verification service.',
  policy: 'Privacy policy version {v}',
  scopeFace: 'I agree to the collection of my face images for this liveness check (sensitive personal information).',
  scopeUpload: 'I agree to send these face images off this device to the verification service.',
  scopeFaceComparison:
    'Separately, I agree to have my face compared with the reference photo this service holds for me, to confirm it is me (face recognition; optional: the liveness check works without it).',
  deviceInfo: 'Also send my device model and OS version (optional; helps spot fraud; the check works without it).',
  reducedFlash: 'Reduced flashing (photosensitivity)',
  agree: 'Agree and start',
  decline: 'Decline',
  askingCamera: 'Asking for camera permission…',
  cameraDeniedTitle: 'Camera access refused',
  cameraDenied: 'Camera access was refused, so the check cannot run. Nothing was captured or sent. Allow the camera in your browser settings and try again.',
  cameraUnavailableTitle: 'No camera',
  cameraUnavailable: 'No usable camera was found. Nothing was captured or sent.',
  cancel: 'Cancel',
  cancelledTitle: 'Cancelled',
  cancelled: 'The check was cancelled. The camera is off; nothing more is captured.',
  guide: 'Place your face inside the oval and hold still',
  hold: 'Hold still',
  turn_left: 'Turn your head slowly to your left',
  turn_right: 'Turn your head slowly to your right',
  nod: 'Nod: look down, then back up',
  blink: 'Close both eyes briefly',
  open_mouth: 'Open your mouth wide',
  flash: 'The screen colour changes: keep looking at it',
  tooDark: 'Too dark: move to a brighter place',
  tooBright: 'Too bright: avoid direct light behind or on you',
  uploading: 'Sending images… {p}%',
  analysing: 'Checking…',
  verified: 'Verified',
  verifiedDetail: 'You have been verified as a live person.',
  notVerified: 'Not verified',
  notVerifiedDetail: 'We could not confirm a live person. Try again in good light, following the prompts.',
  error: 'Something went wrong',
  networkError: 'The network failed repeatedly. Check your connection and try again.',
  sessionError: 'This check session is no longer valid ({c}). Start a new one.',
  retry: 'Try again',
  cameraOff: 'The camera is off.',
  progress: 'Progress',
  waiting: 'Preparing a new check…',
  noFace: 'Place your face inside the oval',
  tooFar: 'Move closer',
  tooClose: 'Move back a little',
  offCentre: 'Move your face to the centre of the oval',
  severalFaces: 'Only one face, please',
  camera: 'Camera',
  cameraChanged: 'Switching camera: the check starts again.',
  policyLoading: 'Loading the privacy policy…',
  policyLink: 'Read the privacy policy',
  policyOutdated: 'The privacy policy has just changed. Please read the new version and agree again.',
  consentError: 'Your consent could not be recorded ({c}). Nothing was captured.',
  stalled: 'The network dropped while sending. {n} images are still on this device and were not sent.',
  resume: 'Send the rest',
  startOver: 'Start over',
  // The server's per-frame prompts (`hint.code` of a frame upload's answer; docs/API.md).
  hint_face_the_camera: 'Face the camera',
  hint_turn_left: 'Turn your head to your left',
  hint_turn_right: 'Turn your head to your right',
  hint_turn_further: 'Turn a little further',
  hint_nod: 'Nod: look down, then back up',
  hint_nod_further: 'Nod a little deeper',
  hint_open_mouth: 'Open your mouth wide',
  hint_open_wider: 'Open wider',
  hint_blink_once: 'Blink once',
  hint_close_eyes_fully: 'Close your eyes fully, briefly',
};

type Strings = typeof en;

const zh: Strings = {
  title: '人脸活体检测',
  consentIntro: '为确认是您本人实时在场操作，本检测将使用前置摄像头约 {s} 秒，并将采集的图像上传至验证服务。',
  policy: '隐私政策版本 {v}',
  scopeFace: '我同意为本次活体检测采集我的人脸图像（敏感个人信息）。',
  scopeUpload: '我同意将这些人脸图像从本设备发送至验证服务。',
  scopeFaceComparison: '另外，我同意将我的人脸与本服务为我保存的参考照片进行比对，以确认是本人（人脸识别；可选：不同意也可正常完成活体检测）。',
  deviceInfo: '同时发送我的设备型号和系统版本（可选，用于识别风险请求；不同意也可正常检测）。',
  reducedFlash: '减少闪烁（光敏感人士）',
  agree: '同意并开始',
  decline: '不同意',
  askingCamera: '正在请求摄像头权限…',
  cameraDeniedTitle: '摄像头权限被拒绝',
  cameraDenied: '摄像头权限被拒绝，检测无法进行。未采集、未发送任何数据。请在浏览器设置中允许使用摄像头后重试。',
  cameraUnavailableTitle: '没有摄像头',
  cameraUnavailable: '未找到可用的摄像头。未采集、未发送任何数据。',
  cancel: '取消',
  cancelledTitle: '已取消',
  cancelled: '检测已取消。摄像头已关闭，不再采集任何数据。',
  guide: '请将面部置于椭圆框内并保持不动',
  hold: '保持不动',
  turn_left: '请缓慢向您的左侧转头',
  turn_right: '请缓慢向您的右侧转头',
  nod: '请点头：先低头，再抬起',
  blink: '请闭眼片刻',
  open_mouth: '请张大嘴巴',
  flash: '屏幕颜色将变化，请注视屏幕',
  tooDark: '光线太暗，请移到明亮处',
  tooBright: '光线太亮，请避免强光直射或背光',
  uploading: '正在上传图像… {p}%',
  analysing: '正在检测…',
  verified: '验证通过',
  verifiedDetail: '已确认为真人实时操作。',
  notVerified: '验证未通过',
  notVerifiedDetail: '未能确认为真人。请在光线充足处按提示重试。',
  error: '出现问题',
  networkError: '网络多次中断，请检查网络后重试。',
  sessionError: '本次检测会话已失效（{c}），请重新开始。',
  retry: '重试',
  cameraOff: '摄像头已关闭。',
  progress: '进度',
  waiting: '正在准备新的检测…',
  noFace: '请将面部置于椭圆框内',
  tooFar: '请靠近一些',
  tooClose: '请稍微远离一些',
  offCentre: '请将面部移到椭圆框中央',
  severalFaces: '画面中只能有一张人脸',
  camera: '摄像头',
  cameraChanged: '正在切换摄像头，检测将重新开始。',
  policyLoading: '正在加载隐私政策…',
  policyLink: '阅读隐私政策',
  policyOutdated: '隐私政策刚刚更新，请阅读新版本后重新同意。',
  consentError: '未能记录您的同意（{c}），未采集任何数据。',
  stalled: '发送过程中网络中断，仍有 {n} 张图像保留在本设备上，尚未发送。',
  resume: '继续发送',
  startOver: '重新开始',
  hint_face_the_camera: '请正对摄像头',
  hint_turn_left: '请向左转头',
  hint_turn_right: '请向右转头',
  hint_turn_further: '请再多转一点',
  hint_nod: '请点头：先低头，再抬起',
  hint_nod_further: '请点头幅度再大一点',
  hint_open_mouth: '请张大嘴巴',
  hint_open_wider: '请把嘴张得更大',
  hint_blink_once: '请眨一次眼',
  hint_close_eyes_fully: '请完全闭眼片刻',
};

export type Key = keyof Strings;

/** The string key of a server prompt code (`turn_further` → `hint_turn_further`); `null` for a code this version does not know. */
export function hintKey(code: string): Key | null {
  const k = `hint_${code}`;
  return Object.prototype.hasOwnProperty.call(en, k) ? (k as Key) : null;
}

export function pickLang(explicit: string | null): Lang {
  const l = (explicit || document.documentElement.lang || navigator.language || 'en').toLowerCase();
  return l.startsWith('zh') ? 'zh-CN' : 'en';
}

export function t(lang: Lang, key: Key, vars: Record<string, string | number> = {}): string {
  const s = (lang === 'zh-CN' ? zh : en)[key];
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
}
