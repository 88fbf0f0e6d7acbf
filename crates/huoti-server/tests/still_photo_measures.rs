//! Diagnostic (ignored by default, needs the models): what the server's analysis measures on
//! a still photo sent as 30 identical frames — frame-hash distances and landmark motion, the
//! inputs of the liveness crate's `static_presentation` rule.
//! `cargo test -p huoti-server --test still_photo_measures -- --ignored --nocapture`

use std::path::Path;

use huoti_server::models::{FrameInput, Models};

#[test]
#[ignore = "diagnostic; needs the models in <repo>/models"]
fn still_photo_motion_and_hashes() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let engine = Models::load(&repo.join("models")).expect("models (huoti models fetch)");
    for name in ["image_T1.jpg", "image_F2.jpg"] {
        let jpeg = std::fs::read(repo.join("../shared/data/silent-face-anti-spoofing").join(name)).unwrap();
        let frames: Vec<FrameInput> =
            (0..30u32).map(|i| FrameInput { seq: i, t_ms: u64::from(i) * 67, nonce: "ab".into(), jpeg: jpeg.clone() }).collect();
        let obs = engine.observe(&frames, 3).unwrap();
        let motion: Vec<f32> = obs.iter().filter_map(|o| o.face.as_ref().map(|f| f.landmark_motion)).collect();
        let hash_d: Vec<u32> = obs.windows(2).map(|w| (w[0].frame_hash ^ w[1].frame_hash).count_ones()).collect();
        let mut sorted = motion[1..].to_vec();
        sorted.sort_by(f32::total_cmp);
        println!("{name}: faces {:?}", obs.iter().map(|o| o.faces).collect::<Vec<_>>());
        println!("{name}: hash distances {hash_d:?}");
        println!("{name}: landmark motion {motion:?}");
        println!("{name}: median motion (after the first) {}", sorted[sorted.len() / 2]);
        println!("{name}: passive {:?}", obs.iter().filter_map(|o| o.face.as_ref()?.passive_real).collect::<Vec<_>>());
    }
}
