//! Query strings, parsed as axum's `Query` extractor parses them, into every query type a
//! route takes: frame parameters, the disclosure list's subject, a page's language.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = format!("/v1/sessions/s_1/frames?{text}").parse::<Uri>() else { return };
    if let Ok(Query(p)) = Query::<huoti_api::FrameParams>::try_from_uri(&uri) {
        let _ = (p.seq, p.t_ms, p.nonce.len());
    }
    let _ = Query::<huoti_server::disclosure::SubjectQuery>::try_from_uri(&uri);
    let _ = Query::<std::collections::HashMap<String, String>>::try_from_uri(&uri);
});
