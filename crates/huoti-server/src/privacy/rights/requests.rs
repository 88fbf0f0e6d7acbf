//! A rights request as the rules see it and as the person and staff are shown it.

use huoti_api as wire;
use huoti_privacy::rights::{self as rules, RequestKind};

use crate::store::rights::RightsRequestRow;
use crate::util::{instant, parse_day, rfc3339};

/// The rule's kind of a wire kind.
pub(crate) fn rule_kind(kind: &str, field: Option<&str>, verified_field: bool) -> Option<RequestKind> {
    Some(match kind {
        "access" => RequestKind::Access,
        "export" => RequestKind::Export,
        "correction" => RequestKind::Correction { field: field.unwrap_or_default().to_owned(), verified_field },
        "deletion" => RequestKind::DeleteRecords,
        "closure" => RequestKind::CloseAccount,
        "complaint" => RequestKind::Complaint,
        "other" => RequestKind::Other,
        _ => return None,
    })
}

/// Whether a request still waits for staff (neither completed nor refused).
pub(crate) fn open(status: &str) -> bool {
    status == "open" || status == "identity_verified"
}

/// The wire form of a request, with whether it is overdue at `now_ms`.
pub(crate) fn info(r: &RightsRequestRow, now_ms: u64) -> wire::RightsRequestInfo {
    let overdue = open(&r.status) && r.due_date.as_deref().and_then(parse_day).is_some_and(|d| rules::is_overdue(d, instant(now_ms)));
    wire::RightsRequestInfo {
        id: r.id.clone(),
        kind: r.kind.clone(),
        status: r.status.clone(),
        received_at: rfc3339(r.received_at_ms.max(0) as u64),
        identity_verified_at: r.identity_verified_at_ms.map(|t| rfc3339(t.max(0) as u64)),
        due_date: r.due_date.clone(),
        due_date_provisional: r.due_provisional,
        overdue,
        refusal_ground: r.refusal_ground.clone(),
        unlawful: r.unlawful,
    }
}
