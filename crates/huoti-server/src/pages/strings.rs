//! Page HTML in zh-CN and en: a shared layout, a body template per page (`assets/*.html`, with
//! `{{key}}` placeholders), and one table of strings. The strings a page's script needs are
//! handed to it as a JSON data block (not executed, so the CSP allows it).

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese.
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// `?lang=` first, then the first language of `Accept-Language` that we have, then zh-CN
    /// (the product's home market).
    pub fn pick(query: Option<&str>, accept: Option<&str>) -> Lang {
        let of = |s: &str| {
            let s = s.trim().to_ascii_lowercase();
            if s.starts_with("zh") {
                Some(Lang::ZhCn)
            } else if s.starts_with("en") {
                Some(Lang::En)
            } else {
                None
            }
        };
        query
            .and_then(of)
            .or_else(|| accept.and_then(|a| a.split(',').find_map(|part| of(part.split(';').next().unwrap_or("")))))
            .unwrap_or(Lang::ZhCn)
    }

    fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// The pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/demo`.
    Demo,
    /// `/privacy`.
    Privacy,
    /// `/console`.
    Console,
    /// `/privacy/policy`: the policy in force (its text is filled in by the caller).
    Policy,
}

impl Page {
    fn parts(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            Page::Demo => ("demo", include_str!("assets/demo.html"), Some("/pages/demo.js")),
            Page::Privacy => ("privacy", include_str!("assets/privacy.html"), Some("/pages/privacy.js")),
            Page::Console => ("console", include_str!("assets/console.html"), Some("/pages/console.js")),
            Page::Policy => ("policy", include_str!("assets/policy.html"), None),
        }
    }
}

/// `(key, en, zh-CN)`. Keys starting with a page name and `.` belong to that page (and are
/// given to its script); the rest are shared by the layout.
const STRINGS: &[(&str, &str, &str)] = &[
    ("skip", "Skip to content", "跳到正文"),
    ("languages", "Language", "语言"),
    ("footer", "huoti — open-source face liveness detection. Privacy policy: /privacy/policy", "huoti — 开源人脸活体检测。隐私政策：/privacy/policy"),
    ("noscript", "This page needs JavaScript.", "本页面需要启用 JavaScript。"),
    // /demo
    ("demo.title", "Liveness check demo", "活体检测演示"),
    ("demo.intro", "This demo page creates a session on this development server and runs the <huoti-liveness> element. Nothing here is kept after the check (policy L2).", "本演示页面在此开发服务器上创建检测会话并运行 <huoti-liveness> 组件。检测结束后不保留任何图像（政策 L2）。"),
    ("demo.loading", "Creating a session…", "正在创建检测会话…"),
    ("demo.failed", "Could not create a session: {code}", "无法创建检测会话：{code}"),
    ("demo.passed", "Result: verified", "结果：验证通过"),
    ("demo.failedResult", "Result: not verified", "结果：验证未通过"),
    ("demo.error", "The check stopped: {code}", "检测已停止：{code}"),
    ("demo.another", "Start another check", "再检测一次"),
    ("demo.faceMatch", "Face match (1:1): the first live check enrols this browser's demo person, later checks compare with it", "人脸比对（1:1）：首次通过的检测为本浏览器的演示用户登记参考，之后的检测与之比对"),
    ("demo.enrolled", "Reference enrolled from this check: the next check with face match compares with it.", "已用本次检测登记参考：下次开启人脸比对的检测将与之比对。"),
    ("demo.notEnrolled", "No reference was enrolled (the check was not live, or face comparison was not agreed to).", "未登记参考（检测未通过，或未同意人脸比对）。"),
    ("demo.matchResult", "Face match: {decision} (similarity {similarity}, threshold {threshold})", "人脸比对：{decision}（相似度 {similarity}，阈值 {threshold}）"),
    ("demo.match", "same person", "本人"),
    ("demo.no_match", "not the same person", "非本人"),
    ("demo.no_reference", "no reference enrolled", "无参考"),
    ("demo.not_consented", "not agreed to", "未同意比对"),
    ("demo.unavailable", "not computed (no face-match model on this server)", "未计算（本服务器没有人脸比对模型）"),
    // /privacy/policy
    ("policy.title", "Privacy policy", "隐私政策"),
    ("policy.version", "Version in force:", "现行版本："),
    ("policy.note", "The text below is the policy you agree to in the liveness check, in English and Chinese.", "以下为您在活体检测中同意的隐私政策全文（中英文）。"),
    // /privacy
    ("privacy.title", "Your personal information", "您的个人信息"),
    ("privacy.intro", "See what the liveness service holds about you, download a copy, withdraw consents, or ask for deletion or account closure. Open this page through the link your service provider gave you.", "在此查看活体检测服务保存的关于您的信息、下载副本、撤回同意，或申请删除信息、注销账户。请通过服务方提供的链接打开本页面。"),
    ("privacy.noToken", "This link is missing its access code. Ask the service you used for a new privacy link.", "该链接缺少访问码。请向您使用的服务索取新的隐私链接。"),
    ("privacy.badToken", "This link is invalid or has expired. Ask the service you used for a new privacy link.", "该链接无效或已过期。请向您使用的服务索取新的隐私链接。"),
    ("privacy.data", "Your data", "您的数据"),
    ("privacy.dataNote", "ID numbers, phone numbers and account references are always partly hidden, on screen and in the download, which holds everything else in full.", "身份证号、手机号和账户标识始终部分隐藏，屏幕上和下载的副本中均如此；下载的副本包含其余全部内容。"),
    ("privacy.export", "Download my data (JSON)", "下载我的数据（JSON）"),
    ("privacy.consents", "Your consents", "您的同意"),
    ("privacy.noConsents", "No consent in force.", "当前没有生效的同意。"),
    ("privacy.withdraw", "Withdraw", "撤回"),
    ("privacy.withdrawn", "Withdrawn: {scope}", "已撤回：{scope}"),
    ("privacy.rights", "Your requests", "您的申请"),
    ("privacy.rightsNote", "Requests are answered within 15 working days (China's calendar); where your identity must be checked first, the clock starts once it is.", "申请将在 15 个工作日内处理（按中国工作日计算）；需要先核验身份的，自核验完成之日起计算。"),
    ("privacy.subject", "Your reference (masked)", "您的标识（已隐藏部分）"),
    ("privacy.trainingImages", "Face images kept for model training", "为模型训练保留的人脸图像"),
    ("privacy.faceReference", "Face template kept for face match (made on)", "用于本人核验的人脸特征模板（创建时间）"),
    ("privacy.faceReferenceNone", "none", "无"),
    ("privacy.idName", "Name (masked)", "姓名（已隐藏部分）"),
    ("privacy.idNumber", "ID number (masked)", "身份证号（已隐藏部分）"),
    ("privacy.idPhone", "Phone (masked)", "手机号（已隐藏部分）"),
    ("privacy.idVia", "Received through the login of", "来自第三方登录"),
    ("privacy.sessions", "Your liveness checks", "您的活体检测记录"),
    ("privacy.noSessions", "No liveness check recorded.", "没有活体检测记录。"),
    ("privacy.colWhen", "When", "时间"),
    ("privacy.colState", "State", "状态"),
    ("privacy.colDecision", "Result", "结果"),
    ("privacy.colDevice", "Device info kept", "是否保存设备信息"),
    ("privacy.yes", "yes", "是"),
    ("privacy.no", "no", "否"),
    ("privacy.policyVersion", "policy", "政策版本"),
    ("privacy.scope_face_capture_and_upload", "Face images collected and sent for the liveness check", "为活体检测采集并发送人脸图像"),
    ("privacy.scope_device_info", "Device model and OS version", "设备型号和系统版本"),
    ("privacy.scope_retain_for_training", "Face images kept for model training", "保留人脸图像用于模型训练"),
    ("privacy.scope_face_comparison", "Face template kept to confirm it is you", "保存人脸特征模板用于本人核验"),
    ("privacy.kind_deletion", "Deletion", "删除"),
    ("privacy.kind_closure", "Account closure", "注销账户"),
    ("privacy.kind_complaint", "Complaint", "投诉"),
    ("privacy.kind_export", "Copy of data", "数据副本"),
    ("privacy.kind_access", "Access", "查阅"),
    ("privacy.kind_correction", "Correction", "更正"),
    ("privacy.status_open", "received", "已收到"),
    ("privacy.status_identity_verified", "identity checked", "身份已核验"),
    ("privacy.status_completed", "done", "已完成"),
    ("privacy.status_refused", "refused", "已拒绝"),
    ("privacy.dueBy", "due by {due}", "截止 {due}"),
    ("privacy.dueByProvisional", "due by {due} (provisional: next year's official holiday calendar is not out yet, so the days were counted Monday to Friday; the date will be updated when it is)", "暂定截止 {due}（下一年度法定节假日安排尚未公布，暂按周一至周五计算；公布后将更新）"),
    ("privacy.dueAfterCheck", "due date set once your identity is checked", "身份核验后确定截止日期"),
    ("privacy.overdue", "overdue", "已逾期"),
    ("privacy.complaint", "A complaint about how your information is handled", "对个人信息处理的投诉"),
    ("privacy.sendComplaint", "Send complaint", "提交投诉"),
    ("privacy.askDelete", "Ask to delete my data", "申请删除我的数据"),
    ("privacy.askClose", "Close my account", "注销我的账户"),
    ("privacy.confirmClose", "Close your account? This cannot be undone.", "确定注销账户吗？此操作无法撤销。"),
    ("privacy.requested", "Request received ({kind}): {due}.", "申请已收到（{kind}）：{due}。"),
    ("privacy.noRequests", "No request yet.", "暂无申请。"),
    ("privacy.loading", "Loading…", "正在加载…"),
    ("privacy.error", "Something went wrong ({code}). Try again later.", "出现问题（{code}），请稍后重试。"),
    // /console
    ("console.title", "Privacy operations console", "隐私运营控制台"),
    ("console.intro", "For staff (and, for a session's result, the integrator that made it). Paste your API key: it is kept in this browser tab only (sessionStorage) and sent to this server only. Each section needs its role; the server refuses what your role does not allow.", "供工作人员使用（查看会话结果时，供创建该会话的接入方使用）。请粘贴您的 API 密钥：密钥只保存在当前浏览器标签页（sessionStorage），只发送给本服务器。每个栏目需要相应角色；角色不允许的操作将被服务器拒绝。"),
    ("console.key", "Staff API key", "工作人员 API 密钥"),
    ("console.useKey", "Use this key", "使用此密钥"),
    ("console.forget", "Forget key", "清除密钥"),
    ("console.keySet", "Key set for this tab.", "已为当前标签页设置密钥。"),
    ("console.keyForgotten", "Key removed.", "密钥已清除。"),
    ("console.noKey", "Paste a staff API key first.", "请先粘贴工作人员 API 密钥。"),
    ("console.requests", "Rights requests", "权利申请"),
    ("console.complaints", "Complaints", "投诉"),
    ("console.incidents", "Incidents", "安全事件"),
    ("console.audit", "Audit log", "审计日志"),
    ("console.load", "Load", "加载"),
    ("console.verify", "Verify the audit chain", "校验审计链"),
    ("console.auditOk", "Audit chain intact: {n} entries verified.", "审计链完整：已校验 {n} 条记录。"),
    ("console.auditBroken", "Audit chain BROKEN at entry {at}.", "审计链在第 {at} 条记录处断裂！"),
    ("console.forbidden", "Your role may not do this (403 {code}).", "您的角色无权执行此操作（403 {code}）。"),
    ("console.unauthorized", "The key was not accepted (401). Check it and paste it again.", "密钥未被接受（401），请检查后重新粘贴。"),
    ("console.error", "Request failed ({code}).", "请求失败（{code}）。"),
    ("console.empty", "Nothing to show.", "没有记录。"),
    ("console.overdue", "overdue", "已逾期"),
    ("console.provisional", "provisional: counted Monday–Friday until the next year's calendar is installed", "暂定：下一年度工作日历安装前按周一至周五计算"),
    ("console.colId", "ID", "编号"),
    ("console.colKind", "Kind", "类型"),
    ("console.colStatus", "Status", "状态"),
    ("console.colReceived", "Received", "收到时间"),
    ("console.colDue", "Due", "截止日期"),
    ("console.colSummary", "Summary", "摘要"),
    ("console.colSeq", "#", "序号"),
    ("console.colAt", "Time", "时间"),
    ("console.colRole", "Role", "角色"),
    ("console.colAction", "Action", "操作"),
    ("console.colPurpose", "Purpose", "目的"),
    ("console.purpose", "Purpose of this access", "本次访问的目的"),
    ("console.purposeNote", "Recorded in the audit log with your key; required for personal data.", "将与您的密钥一同记入审计日志；访问个人信息时必填。"),
    ("console.purposeRequired", "Say why first: fill in the purpose (it is audited).", "请先填写访问目的（将被审计）。"),
    ("console.notAvailable", "This server does not offer this yet (404).", "本服务器尚未提供此功能（404）。"),
    ("console.loadAudit", "Show the audit log", "查看审计日志"),
    ("console.auditCaption", "Audit log (staff access to personal data)", "审计日志（工作人员访问个人信息的记录）"),
    ("console.auditHead", "Chain head (anchor it elsewhere):", "链头哈希（请在别处留存）："),
    ("console.result", "A session's result and face match", "检测结果与人脸比对"),
    ("console.resultNote", "Only the integrator that created the session may read its result (its own API key); staff roles may not see a person's face-match outcome (403). Shown: the decision and the comparison's figures, never a face template or image.", "只有创建该会话的接入方（使用其自己的 API 密钥）可以查看结果；工作人员角色无权查看个人的人脸比对结果（403）。此处仅显示判定与比对数值，从不显示人脸特征模板或图像。"),
    ("console.sessionId", "Session ID", "会话编号"),
    ("console.showResult", "Show the result", "查看结果"),
    ("console.resultCaption", "Session {id}", "会话 {id}"),
    ("console.colDecision", "Liveness decision", "活体判定"),
    ("console.colCompleted", "Completed", "完成时间"),
    ("console.colMatch", "Face match", "人脸比对"),
    ("console.colSimilarity", "Similarity", "相似度"),
    ("console.colThreshold", "Threshold", "阈值"),
    ("console.colModel", "Model", "模型"),
    ("console.noFaceMatch", "not asked, or not computed (a session that is not live is never compared)", "未要求或未计算（未通过活体检测的会话从不比对）"),
    ("console.match_match", "same person", "本人"),
    ("console.match_no_match", "not the same person", "非本人"),
    ("console.match_no_reference", "no reference enrolled", "无参考"),
    ("console.match_not_consented", "not agreed to (nothing compared)", "未同意比对（未比对）"),
    ("console.match_unavailable", "not computed: this server has no face-match model", "未计算：本服务器没有人脸比对模型"),
];

fn lookup(key: &str, lang: Lang) -> &'static str {
    STRINGS.iter().find(|(k, ..)| *k == key).map_or("", |(_, en, zh)| if lang == Lang::En { en } else { zh })
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces `{{key}}` with the escaped string (`{{page.key}}` or a shared `{{key}}`).
fn fill(template: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { break };
        out.push_str(&escape(lookup(&rest[i + 2..i + j], lang)));
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    out
}

/// The whole page; `@@name@@` markers in the body template are replaced by the escaped `values`.
pub fn html(page: Page, lang: Lang, values: &[(&str, &str)]) -> String {
    let (name, body, script) = page.parts();
    let prefix = format!("{name}.");
    let strings: serde_json::Map<String, serde_json::Value> = STRINGS
        .iter()
        .filter(|(k, ..)| k.starts_with(&prefix))
        .map(|(k, ..)| (k[prefix.len()..].to_owned(), lookup(k, lang).into()))
        .collect();
    // `<` escaped so that no string can close the data block.
    let json = serde_json::Value::Object(strings).to_string().replace('<', "\\u003c");
    let other = match lang {
        Lang::ZhCn => r#"<a href="?lang=en" lang="en" hreflang="en">English</a>"#,
        Lang::En => r#"<a href="?lang=zh-CN" lang="zh-CN" hreflang="zh-CN">中文</a>"#,
    };
    let tag = lang.tag();
    let title = escape(lookup(&format!("{name}.title"), lang));
    let skip = escape(lookup("skip", lang));
    let languages = escape(lookup("languages", lang));
    let footer = escape(lookup("footer", lang));
    let noscript = escape(lookup("noscript", lang));
    let mut body = fill(body, lang);
    for (k, v) in values {
        body = body.replace(&format!("@@{k}@@"), &escape(v));
    }
    let script = script.map(|src| format!(r#"<script type="module" src="{src}"></script>"#)).unwrap_or_default();
    format!(
        r##"<!doctype html>
<html lang="{tag}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} · huoti</title>
<link rel="stylesheet" href="/pages/pages.css">
{script}
</head>
<body>
<a class="skip" href="#main">{skip}</a>
<header><span class="brand">huoti</span><nav aria-label="{languages}">{other}</nav></header>
<main id="main" tabindex="-1">
<h1>{title}</h1>
<noscript><p>{noscript}</p></noscript>
{body}
</main>
<footer><p>{footer}</p></footer>
<script type="application/json" id="strings">{json}</script>
</body>
</html>
"##
    )
}
