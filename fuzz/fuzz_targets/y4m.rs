//! Y4M streams (camera clips read by the CLI, the SDK and `huoti eval`): the header and up to
//! four frames.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = huoti_media::Y4mReader::new(data) {
        for frame in reader.take(4) {
            let Ok(f) = frame else { break };
            assert!(f.image.width() > 0 && f.image.height() > 0);
        }
    }
});
