//! `[blobs]`: where sealed frames and other sealed blobs live — a local directory (one node),
//! or an S3-compatible bucket (several nodes: AWS S3, Aliyun OSS, Tencent COS, Ceph RGW, MinIO…).
//!
//! The bucket's credentials are never part of this section: they come from the environment
//! (`HUOTI_S3_ACCESS_KEY_ID` / `HUOTI_S3_SECRET_ACCESS_KEY`, else the usual `AWS_ACCESS_KEY_ID`
//! / `AWS_SECRET_ACCESS_KEY`) or from `credentials_file` (mode 0600). A key that looks like a
//! credential in the configuration text is refused with a message saying where it belongs.
//!
//! Residency (S1): the bucket's region and the endpoint's host must name `data_region` (or be
//! one of its known regions, e.g. Tencent COS's `ap-beijing` for `cn`); the store checks the
//! region the bucket itself reports when it starts ([`crate::vault`]).

use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// Where sealed blobs live (`[blobs]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    /// `dir` (default: files under `dir`) or `s3` (`HUOTI_BLOBS_KIND`).
    pub kind: String,
    /// `kind = "dir"`: the directory (`HUOTI_BLOBS_DIR`); empty: `<data_dir>/blobs`.
    pub dir: String,
    /// `kind = "s3"`: the bucket (`HUOTI_BLOBS_BUCKET`).
    pub bucket: String,
    /// Object keys start with this (`HUOTI_BLOBS_PREFIX`), e.g. `huoti/prod`; empty: the
    /// bucket's root. Several deployments may share a bucket under different prefixes.
    pub prefix: String,
    /// The S3 endpoint (`HUOTI_BLOBS_ENDPOINT`); empty: AWS S3 for `region`. `https://` —
    /// plain `http://` only to a store on this machine (S2: transport is encrypted).
    pub endpoint: String,
    /// The bucket's region (`HUOTI_BLOBS_REGION`), e.g. `cn-north-1`; must be in `data_region`.
    pub region: String,
    /// Path-style requests (`https://host/bucket/key`; `HUOTI_BLOBS_PATH_STYLE`), which most
    /// self-hosted stores (Ceph RGW, MinIO) need; `false`: virtual-hosted style
    /// (`https://bucket.host/key`), as AWS, OSS and COS prefer.
    pub path_style: bool,
    /// A file (mode 0600) holding `access_key_id = "…"` and `secret_access_key = "…"`
    /// (`HUOTI_BLOBS_CREDENTIALS_FILE`), used when the environment has no credentials.
    pub credentials_file: String,
    /// Extra trusted root certificates (PEM) for the endpoint, e.g. a private CA
    /// (`HUOTI_BLOBS_CA_FILE`).
    pub ca_file: String,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            kind: "dir".into(),
            dir: String::new(),
            bucket: String::new(),
            prefix: String::new(),
            endpoint: String::new(),
            region: String::new(),
            path_style: false,
            credentials_file: String::new(),
            ca_file: String::new(),
        }
    }
}

/// Regions of cloud providers that lie in a data region without naming it (e.g. Tencent COS
/// names mainland China's regions `ap-<city>`). A region or host naming the data region itself
/// (`cn-north-1`, `oss-cn-beijing`) needs no entry.
const KNOWN_REGIONS: &[(&str, &[&str])] = &[(
    "cn",
    &["ap-beijing", "ap-shanghai", "ap-guangzhou", "ap-chengdu", "ap-chongqing", "ap-nanjing", "ap-shenzhen-fsi", "ap-shanghai-fsi", "ap-beijing-fsi"],
)];

/// Whether `text` (a region id or a host name) names `data_region`: one of its labels (split on
/// `.` and `-`) is the region, or it contains a known region of it as whole labels.
pub(crate) fn names_region(text: &str, data_region: &str) -> bool {
    let text = text.trim().to_ascii_lowercase();
    let region = data_region.trim().to_ascii_lowercase();
    if text.split(['.', '-']).any(|l| l == region) {
        return true;
    }
    let bounded = |i: usize, len: usize| {
        let before = text[..i].chars().next_back().is_none_or(|c| c == '.' || c == '-');
        let after = text[i + len..].chars().next().is_none_or(|c| c == '.' || c == '-');
        before && after
    };
    KNOWN_REGIONS
        .iter()
        .filter(|(r, _)| *r == region)
        .flat_map(|(_, known)| known.iter())
        .any(|k| text.match_indices(k).any(|(i, m)| bounded(i, m.len())))
}

/// A host name or address of this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of an endpoint URL (`https://host:port/path` → `host`).
pub(crate) fn endpoint_host(endpoint: &str) -> &str {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    }
}

impl BlobsConfig {
    /// Whether blobs live in an S3-compatible bucket.
    pub fn is_s3(&self) -> bool {
        self.kind == "s3"
    }

    /// Checks the section without connecting: the kind, the bucket, the transport (S2) and the
    /// residency of region and endpoint (S1).
    pub fn check(&self, data_region: &str) -> Result<(), ServerError> {
        let bad = |m: String| Err(ServerError::Config(m));
        match self.kind.as_str() {
            "dir" => return Ok(()),
            "s3" => {}
            other => return bad(format!("blobs.kind {other:?}: use \"dir\" or \"s3\"")),
        }
        let valid_bucket = (3..=63).contains(&self.bucket.len())
            && self.bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid_bucket {
            return bad(format!("blobs.bucket {:?}: 3–63 characters of [a-z0-9.-] (an S3 bucket name)", self.bucket));
        }
        let valid_prefix = self.prefix.split('/').filter(|p| !p.is_empty()).all(|p| p != "." && p != "..")
            && self.prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b));
        if !valid_prefix {
            return bad(format!("blobs.prefix {:?}: names of [A-Za-z0-9_.-] separated by /", self.prefix));
        }
        if self.region.trim().is_empty() {
            return bad("blobs.region must name the bucket's region, e.g. \"cn-north-1\" (S1: it is checked against data_region)".into());
        }
        if !names_region(&self.region, data_region) {
            return bad(format!(
                "data residency (S1): the bucket's region {:?} is not in data_region {:?}; data collected there is stored only there",
                self.region, data_region
            ));
        }
        if !self.endpoint.is_empty() {
            let host = endpoint_host(&self.endpoint);
            let scheme_ok = match self.endpoint.split_once("://").map(|(s, _)| s.to_ascii_lowercase()) {
                Some(s) if s == "https" => true,
                Some(s) if s == "http" => is_loopback(host),
                _ => return bad(format!("blobs.endpoint {:?}: a URL like https://oss-cn-beijing.aliyuncs.com", self.endpoint)),
            };
            if !scheme_ok {
                return bad(format!("blobs.endpoint {:?}: plain http:// is allowed only to a store on this machine (S2: transport is encrypted)", self.endpoint));
            }
            if host.is_empty() || !(is_loopback(host) || names_region(host, data_region)) {
                return bad(format!(
                    "data residency (S1): the blob endpoint host {host:?} does not name region {data_region:?}; refusing to store data outside it"
                ));
            }
        }
        for (key, path) in [("blobs.credentials_file", &self.credentials_file), ("blobs.ca_file", &self.ca_file)] {
            if !path.is_empty() && !std::path::Path::new(path).is_file() {
                return bad(format!("{key}: no file at {path:?}"));
            }
        }
        Ok(())
    }
}

/// Keys that look like credentials written into `[blobs]`: refused with where they belong
/// (serde's `deny_unknown_fields` would only say "unknown field").
pub(crate) fn refuse_inline_credentials(text: &str) -> Result<(), ServerError> {
    let mut in_blobs = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            in_blobs = header.split(']').next().is_some_and(|h| h.trim() == "blobs");
            continue;
        }
        let key = line.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
        let secret = ["access_key", "secret", "password", "token"].iter().any(|s| key.contains(s)) && key != "credentials_file";
        if in_blobs && line.contains('=') && secret {
            return Err(ServerError::Config(format!(
                "blobs.{key}: credentials are never read from the configuration file; set HUOTI_S3_ACCESS_KEY_ID and \
                 HUOTI_S3_SECRET_ACCESS_KEY in the environment, or name a file (mode 0600) in blobs.credentials_file"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(region: &str, endpoint: &str) -> BlobsConfig {
        BlobsConfig { kind: "s3".into(), bucket: "huoti-frames".into(), region: region.into(), endpoint: endpoint.into(), ..Default::default() }
    }

    #[test]
    fn s1_bucket_region_and_endpoint_must_be_in_the_data_region() {
        s3("cn-north-1", "").check("cn").unwrap();
        s3("cn-beijing", "https://oss-cn-beijing.aliyuncs.com").check("cn").unwrap();
        s3("ap-beijing", "https://cos.ap-beijing.myqcloud.com").check("cn").unwrap();
        s3("us-east-1", "http://127.0.0.1:9000").check("us").unwrap();
        let err = s3("eu-west-1", "").check("cn").unwrap_err().to_string();
        assert!(err.contains("data residency (S1)") && err.contains("eu-west-1"), "{err}");
        let err = s3("cn-north-1", "https://s3.eu-west-1.amazonaws.com").check("cn").unwrap_err().to_string();
        assert!(err.contains("blob endpoint host"), "{err}");
        assert!(s3("ap-hongkong", "").check("cn").is_err(), "not a mainland region");
        assert!(s3("ap-beijingx", "").check("cn").is_err(), "whole labels only");
        assert!(s3("", "").check("cn").is_err(), "a region is required");
    }

    #[test]
    fn s2_plain_http_only_to_this_machine() {
        s3("cn-north-1", "http://localhost:9000").check("cn").unwrap();
        let err = s3("cn-north-1", "http://minio.cn-north-1.internal:9000").check("cn").unwrap_err().to_string();
        assert!(err.contains("plain http://"), "{err}");
        assert!(s3("cn-north-1", "ftp://x").check("cn").is_err());
    }

    #[test]
    fn bucket_prefix_and_kind_are_checked() {
        assert!(BlobsConfig { bucket: "A_B".into(), ..s3("cn-north-1", "") }.check("cn").is_err());
        assert!(BlobsConfig { prefix: "a/../b".into(), ..s3("cn-north-1", "") }.check("cn").is_err());
        BlobsConfig { prefix: "huoti/prod".into(), ..s3("cn-north-1", "") }.check("cn").unwrap();
        assert!(BlobsConfig { kind: "gcs".into(), ..Default::default() }.check("cn").is_err());
        BlobsConfig::default().check("cn").unwrap();
    }

    #[test]
    fn s2_credentials_in_the_configuration_text_are_refused() {
        let err = refuse_inline_credentials("[blobs]\nkind = \"s3\"\nsecret_access_key = \"abc\"\n").unwrap_err().to_string();
        assert!(err.contains("HUOTI_S3_SECRET_ACCESS_KEY") && !err.contains("abc"), "{err}");
        refuse_inline_credentials("[blobs]\ncredentials_file = \"/etc/huoti/s3\"\n[incidents.smtp]\npassword_file = \"x\"\n").unwrap();
        refuse_inline_credentials("[blobs]  # comment\n# secret_access_key = \"in a comment\"\nbucket = \"b\" # access_key_id = x\n").unwrap();
        assert!(refuse_inline_credentials("[blobs] # where frames live\naccess_key_id = \"AKIA\"\n").is_err());
    }

    #[test]
    fn endpoint_hosts() {
        assert_eq!(endpoint_host("https://oss-cn-beijing.aliyuncs.com/x"), "oss-cn-beijing.aliyuncs.com");
        assert_eq!(endpoint_host("http://127.0.0.1:9000"), "127.0.0.1");
        assert_eq!(endpoint_host("http://[::1]:9000"), "::1");
        assert!(is_loopback("::1") && is_loopback("localhost") && !is_loopback("10.0.0.1"));
    }
}
