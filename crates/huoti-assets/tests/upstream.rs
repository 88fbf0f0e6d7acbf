//! Downloads from upstream, with a local HTTP server standing in for the Internet: the pinned
//! models served from the mirror and the FaceMesh/Iris alternates from the mirror's
//! `upstream/` folder, under their real manifest URLs.

use std::fs;
use std::path::{Path, PathBuf};

use huoti_assets::testing::{LocalUpstream, Route, model_source_file};
use huoti_assets::{Asset, AssetError, AssetState, FetchEvent, FetchOptions, FetchSource, Manifest, Source};

fn through(upstream: &LocalUpstream) -> FetchOptions {
    FetchOptions { mirror: None, source_base: Some(upstream.base().to_owned()) }
}

/// The real FaceMesh entry with the given sources.
fn facemesh_with(sources: Vec<Source>) -> Manifest {
    let mut asset: Asset = huoti_assets::models().get("facemesh").unwrap().clone();
    asset.sources = sources;
    Manifest { mirror_env: "HUOTI_MODEL_MIRROR".into(), fetch_command: "huoti models fetch".into(), assets: vec![asset] }
}

fn pinned(name: &str) -> (Source, PathBuf) {
    let asset = huoti_assets::models().get(name).unwrap().clone();
    let file = model_source_file(name, &asset.sha256);
    (Source { url: format!("https://example.org/pinned/{}", asset.path), sha256: asset.sha256, note: None }, file)
}

fn alternate(name: &str) -> (Source, PathBuf) {
    let asset = huoti_assets::models().get(name).unwrap().clone();
    let source = asset.sources.iter().find(|s| s.sha256 != asset.sha256).expect("an alternate source").clone();
    let file = model_source_file(name, &source.sha256);
    (source, file)
}

/// Fetches `manifest` into `dir` through `upstream`: where each file came from, and why each
/// source that failed on the way failed, in order.
fn fetch_noting_failures(manifest: &Manifest, dir: &Path, upstream: &LocalUpstream) -> (Vec<FetchSource>, Vec<String>) {
    let mut failed = Vec::new();
    let got = manifest
        .fetch(dir, &through(upstream), |e| {
            if let FetchEvent::Failed { why, .. } = e {
                failed.push(why);
            }
        })
        .unwrap();
    (got, failed)
}

/// Everything in `dir` (recursively), as relative paths.
fn files_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_in(&p).into_iter().map(|f| format!("{}/{f}", entry.file_name().to_string_lossy())));
        } else {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[test]
fn every_model_downloads_from_its_first_source_with_byte_progress() {
    let upstream = LocalUpstream::serving_every_model();
    let dir = tempfile::tempdir().unwrap();
    let manifest = huoti_assets::models();
    let (mut starts, mut last_bytes, mut done) = (Vec::new(), std::collections::HashMap::new(), 0);
    let sources = manifest
        .fetch(dir.path(), &through(&upstream), |e| match e {
            FetchEvent::Start { asset, length, resumed_from, .. } => starts.push((asset.name.clone(), length, resumed_from)),
            FetchEvent::Bytes { asset, done } => {
                last_bytes.insert(asset.name.clone(), done);
            }
            FetchEvent::Done { .. } => done += 1,
            FetchEvent::Failed { from, why, .. } => panic!("{from}: {why}"),
        })
        .unwrap();
    assert_eq!(done, manifest.assets.len());
    for (asset, source) in manifest.assets.iter().zip(&sources) {
        let first = upstream.base().to_owned() + &LocalUpstream::path_of(&asset.sources[0].url);
        assert_eq!(source, &FetchSource::Upstream(first), "{}", asset.name);
        // What arrived is the first source's own bytes: the alternates for FaceMesh and Iris.
        let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(fs::read(dir.path().join(&asset.path)).unwrap()));
        assert_eq!(actual, asset.sources[0].sha256, "{}", asset.name);
        let length = fs::metadata(dir.path().join(&asset.path)).unwrap().len();
        assert!(starts.contains(&(asset.name.clone(), Some(length), 0)), "{starts:?}");
        assert_eq!(last_bytes[&asset.name], length, "the progress reaches the whole file");
    }
    assert_ne!(manifest.get("facemesh").unwrap().sources[0].sha256, manifest.get("facemesh").unwrap().sha256);
    assert!(manifest.require(dir.path()).is_ok(), "alternate bytes count as verified");
    assert!(files_in(dir.path()).iter().all(|f| f.ends_with(".onnx")), "no partial files left: {:?}", files_in(dir.path()));
    // Nothing more is asked once everything is in place.
    let asked = upstream.served().len();
    let again = manifest.fetch(dir.path(), &through(&upstream), |_| {}).unwrap();
    assert!(again.iter().all(|s| *s == FetchSource::AlreadyPresent));
    assert_eq!(upstream.served().len(), asked);
}

#[test]
fn a_source_serving_other_bytes_than_its_sha256_is_refused_and_nothing_is_left() {
    let upstream = LocalUpstream::start();
    let (source, _) = pinned("facemesh");
    // The alternate's bytes under a source that pins the original's: a checksum refusal, even
    // though the manifest accepts those bytes from the other source.
    let (_, alternate_file) = alternate("facemesh");
    upstream.route(&source.url, Route::File(alternate_file));
    let dir = tempfile::tempdir().unwrap();
    let err = facemesh_with(vec![source]).fetch(dir.path(), &through(&upstream), |_| {}).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, AssetError::Unavailable { .. }), "{text}");
    assert!(text.contains("sha256 mismatch") && text.contains("refused") && text.contains("Fix:"), "{text}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn a_dead_first_source_falls_back_to_the_next() {
    let upstream = LocalUpstream::start();
    let (dead, _) = pinned("facemesh");
    upstream.route(&dead.url, Route::Status(503));
    let (good, file) = alternate("facemesh");
    upstream.route(&good.url, Route::File(file));
    let gone = Source { url: "https://example.org/gone/face_landmark.onnx".into(), ..dead.clone() };
    let manifest = facemesh_with(vec![gone, dead, good.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let (got, failed) = fetch_noting_failures(&manifest, dir.path(), &upstream);
    assert_eq!(got, [FetchSource::Upstream(format!("{}{}", upstream.base(), LocalUpstream::path_of(&good.url)))]);
    assert_eq!(failed, ["HTTP 404", "HTTP 503"]);
    assert_eq!(manifest.state(dir.path())[0].1, AssetState::Verified);
    assert_eq!(files_in(dir.path()), ["face_landmark.onnx"]);
}

#[test]
fn a_corrupted_download_is_refused_and_retried_from_the_next_source() {
    let upstream = LocalUpstream::start();
    let (first, file) = pinned("facemesh");
    let mut corrupted = fs::read(&file).unwrap();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01; // one flipped bit
    upstream.route(&first.url, Route::Bytes(corrupted));
    let second = Source { url: "https://example.org/second/face_landmark.onnx".into(), ..first.clone() };
    upstream.route(&second.url, Route::File(file.clone()));
    let manifest = facemesh_with(vec![first, second.clone()]);
    let dir = tempfile::tempdir().unwrap();
    let (got, failed) = fetch_noting_failures(&manifest, dir.path(), &upstream);
    assert_eq!(got, [FetchSource::Upstream(format!("{}{}", upstream.base(), LocalUpstream::path_of(&second.url)))]);
    assert_eq!(failed.len(), 1);
    assert!(failed[0].starts_with("sha256 mismatch"), "{failed:?}");
    assert_eq!(fs::read(dir.path().join("face_landmark.onnx")).unwrap(), fs::read(&file).unwrap());
    assert_eq!(files_in(dir.path()), ["face_landmark.onnx"], "the refused bytes are gone");
}

#[test]
fn an_interrupted_download_keeps_its_part_and_resumes_with_a_range() {
    let upstream = LocalUpstream::start();
    let (source, file) = pinned("iris");
    let length = fs::metadata(&file).unwrap().len() as usize;
    let half = length / 2;
    upstream.route(&source.url, Route::CutAfter(file.clone(), half));
    let mut asset = huoti_assets::models().get("iris").unwrap().clone();
    asset.sources = vec![source.clone()];
    let manifest = Manifest { mirror_env: "M".into(), fetch_command: "huoti models fetch".into(), assets: vec![asset] };
    let dir = tempfile::tempdir().unwrap();
    let err = manifest.fetch(dir.path(), &through(&upstream), |_| {}).unwrap_err().to_string();
    assert!(err.contains("resumed next time"), "{err}");
    let partial = files_in(dir.path());
    assert_eq!(partial.len(), 1, "{partial:?}");
    assert!(partial[0].ends_with(".partial"), "{partial:?}");
    assert_eq!(fs::metadata(dir.path().join(&partial[0])).unwrap().len() as usize, half);
    assert_eq!(manifest.state(dir.path())[0].1, AssetState::Missing, "a part is never taken for the file");

    let mut resumed = None;
    manifest
        .fetch(dir.path(), &through(&upstream), |e| {
            if let FetchEvent::Start { resumed_from, length, .. } = e {
                resumed = Some((resumed_from, length));
            }
        })
        .unwrap();
    assert_eq!(resumed, Some((half as u64, Some(length as u64))));
    let served = upstream.served();
    assert_eq!(served.len(), 2);
    assert_eq!(served[1].range.as_deref(), Some(format!("bytes={half}-").as_str()));
    assert_eq!(served[1].status, 206);
    assert_eq!(fs::read(dir.path().join("iris_landmark.onnx")).unwrap(), fs::read(&file).unwrap());
    assert_eq!(files_in(dir.path()), ["iris_landmark.onnx"]);
}

#[test]
fn a_part_the_server_cannot_resume_is_fetched_again_in_full() {
    let upstream = LocalUpstream::start();
    let (source, file) = pinned("iris");
    let bytes = fs::read(&file).unwrap();
    upstream.route(&source.url, Route::File(file.clone()));
    let mut asset = huoti_assets::models().get("iris").unwrap().clone();
    asset.sources = vec![source.clone()];
    let manifest = Manifest { mirror_env: "M".into(), fetch_command: "huoti models fetch".into(), assets: vec![asset] };
    let dir = tempfile::tempdir().unwrap();
    // A leftover part longer than the file (from a changed source): the server answers 416.
    let target = dir.path().join("iris_landmark.onnx");
    let partial = dir.path().join(format!("iris_landmark.onnx.{}.partial", &source.sha256[..16]));
    fs::write(&partial, vec![7u8; bytes.len() + 10]).unwrap();
    manifest.fetch(dir.path(), &through(&upstream), |_| {}).unwrap();
    let statuses: Vec<u16> = upstream.served().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [416, 200]);
    assert_eq!(fs::read(&target).unwrap(), bytes);
    assert!(!partial.exists());
}

#[test]
fn redirects_are_followed_like_githubs_raw_addresses() {
    let upstream = LocalUpstream::start();
    let (source, file) = pinned("minifasnet_v2");
    let object = "https://objects.example.org/lfs/2.7_80x80_MiniFASNetV2.onnx";
    upstream.route(&source.url, Route::Redirect(format!("{}{}", upstream.base(), LocalUpstream::path_of(object))));
    upstream.route(object, Route::File(file));
    let mut asset = huoti_assets::models().get("minifasnet_v2").unwrap().clone();
    asset.sources = vec![source];
    let manifest = Manifest { mirror_env: "M".into(), fetch_command: "huoti models fetch".into(), assets: vec![asset] };
    let dir = tempfile::tempdir().unwrap();
    manifest.fetch(dir.path(), &through(&upstream), |_| {}).unwrap();
    assert_eq!(manifest.state(dir.path())[0].1, AssetState::Verified);
    assert_eq!(upstream.served().iter().map(|s| s.status).collect::<Vec<_>>(), [302, 200]);
}

#[test]
fn the_mirror_comes_first_and_upstream_is_not_asked() {
    let upstream = LocalUpstream::serving_every_model();
    let mirror = huoti_assets::testing::models_dir();
    let dir = tempfile::tempdir().unwrap();
    let options = FetchOptions { mirror: Some(mirror.to_path_buf()), source_base: Some(upstream.base().to_owned()) };
    let got = huoti_assets::models().fetch(dir.path(), &options, |_| {}).unwrap();
    assert!(got.iter().all(|s| matches!(s, FetchSource::Mirror(_))), "{got:?}");
    assert!(upstream.served().is_empty());
}

#[test]
fn two_fetches_of_one_file_at_once_wait_for_each_other_and_both_succeed() {
    let upstream = LocalUpstream::start();
    let (source, file) = pinned("minifasnet_v1se");
    upstream.route(&source.url, Route::File(file.clone()));
    let mut asset = huoti_assets::models().get("minifasnet_v1se").unwrap().clone();
    asset.sources = vec![source];
    let manifest = Manifest { mirror_env: "M".into(), fetch_command: "huoti models fetch".into(), assets: vec![asset] };
    let dir = tempfile::tempdir().unwrap();
    let options = through(&upstream);
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..2).map(|_| s.spawn(|| manifest.fetch(dir.path(), &options, |_| {}))).collect();
        for run in runs {
            run.join().unwrap().unwrap();
        }
    });
    assert_eq!(fs::read(dir.path().join("4_0_0_80x80_MiniFASNetV1SE.onnx")).unwrap(), fs::read(&file).unwrap());
    assert_eq!(files_in(dir.path()), ["4_0_0_80x80_MiniFASNetV1SE.onnx"]);
}
