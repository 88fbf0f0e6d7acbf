//! Device information: the device's model, OS type and OS version — nothing else (policy C1),
//! and only when the person allowed it (P2).
//!
//! Read from the operating system's own files and tools, no extra crate:
//!
//! | OS | model | OS type | OS version |
//! |---|---|---|---|
//! | Linux | `/sys/devices/virtual/dmi/id/product_name` (absent in containers and on most ARM boards: then no model) | `linux` | `VERSION_ID` of `/etc/os-release`, prefixed by its `ID` (`debian 12`) |
//! | macOS | `sysctl -n hw.model` | `macos` | `sw_vers -productVersion` |
//! | Windows | `HKLM\HARDWARE\DESCRIPTION\System\BIOS\SystemProductName` (via `reg query`) | `windows` | `CurrentBuild` of `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion` |
//!
//! Each value is cleaned to what the server accepts (1–64 printable ASCII characters; other
//! characters become `?`, longer values are cut); a value that cannot be read is left out.

use std::path::Path;

pub use huoti_api::DeviceInfo;

/// The largest value the server accepts in a device-info header.
pub const MAX_VALUE_LEN: usize = 64;

/// Collects this device's model, OS type and OS version. Call only after the person
/// allowed it; the driver does so itself when [`Permissions::device_info`] is granted.
///
/// [`Permissions::device_info`]: crate::Permissions::device_info
pub fn collect() -> DeviceInfo {
    let raw = platform::collect();
    DeviceInfo { model: clean(raw.model.as_deref()), os_type: clean(raw.os_type.as_deref()), os_version: clean(raw.os_version.as_deref()) }
}

/// Trims `value` and makes it acceptable to the server: printable ASCII only (anything else
/// becomes `?`), at most [`MAX_VALUE_LEN`] characters; empty → `None`.
pub fn clean(value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    let s: String = v.chars().map(|c| if (' '..='~').contains(&c) { c } else { '?' }).take(MAX_VALUE_LEN).collect();
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Linux: device info from a file-system root (`/` on a real device; a temporary directory
/// in tests).
pub fn linux_from_root(root: &Path) -> DeviceInfo {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    let model = read("sys/devices/virtual/dmi/id/product_name")
        .filter(|m| !is_placeholder(m))
        .or_else(|| read("proc/device-tree/model").map(|m| m.trim_end_matches('\0').to_owned()));
    let os_release = read("etc/os-release").or_else(|| read("usr/lib/os-release"));
    let (id, version) = os_release.as_deref().map(parse_os_release).unwrap_or_default();
    let os_version = match (id, version) {
        (Some(id), Some(v)) => Some(format!("{id} {v}")),
        (Some(id), None) => Some(id),
        (None, v) => v,
    };
    DeviceInfo { model: clean(model.as_deref()), os_type: Some("linux".into()), os_version: clean(os_version.as_deref()) }
}

/// Firmware placeholders that say nothing about the device.
fn is_placeholder(model: &str) -> bool {
    let m = model.trim().to_ascii_lowercase();
    m.is_empty() || ["to be filled by o.e.m.", "system product name", "default string", "not applicable", "none"].contains(&m.as_str())
}

/// `ID` and `VERSION_ID` of an os-release file (values may be quoted).
pub fn parse_os_release(text: &str) -> (Option<String>, Option<String>) {
    let mut id = None;
    let mut version = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
        match k.trim() {
            "ID" if !v.is_empty() => id = Some(v),
            "VERSION_ID" if !v.is_empty() => version = Some(v),
            _ => {}
        }
    }
    (id, version)
}

#[cfg(target_os = "linux")]
mod platform {
    pub fn collect() -> super::DeviceInfo {
        super::linux_from_root(std::path::Path::new("/"))
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program).args(args).stdin(std::process::Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(target_os = "macos")]
mod platform {
    use super::command_output;
    pub fn collect() -> super::DeviceInfo {
        super::DeviceInfo {
            model: command_output("sysctl", &["-n", "hw.model"]),
            os_type: Some("macos".into()),
            os_version: command_output("sw_vers", &["-productVersion"]),
        }
    }
}

#[cfg(target_os = "windows")]
mod platform {
    use super::command_output;
    /// The value of `name` in `reg query` output (`    name    REG_SZ    value`).
    fn reg_value(key: &str, name: &str) -> Option<String> {
        let out = command_output("reg", &["query", key, "/v", name])?;
        out.lines().find_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next()? == name).then(|| parts.skip(1).collect::<Vec<_>>().join(" "))
        })
    }
    pub fn collect() -> super::DeviceInfo {
        super::DeviceInfo {
            model: reg_value(r"HKLM\HARDWARE\DESCRIPTION\System\BIOS", "SystemProductName"),
            os_type: Some("windows".into()),
            os_version: reg_value(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion", "CurrentBuild"),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod platform {
    pub fn collect() -> super::DeviceInfo {
        super::DeviceInfo { model: None, os_type: Some(std::env::consts::OS.to_owned()), os_version: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_linux_reads_model_and_os_from_the_os_files_only() {
        let root = tempfile::tempdir().unwrap();
        let dmi = root.path().join("sys/devices/virtual/dmi/id");
        std::fs::create_dir_all(&dmi).unwrap();
        std::fs::write(dmi.join("product_name"), "ThinkPad X1 Carbon Gen 11\n").unwrap();
        // Other DMI files (serial numbers, UUIDs) exist and must never be read into the result.
        std::fs::write(dmi.join("product_serial"), "PF-SECRET-123\n").unwrap();
        std::fs::write(dmi.join("product_uuid"), "4c4c4544-0000-1111-2222-333344445555\n").unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/os-release"), "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\nHOME_URL=x\n").unwrap();
        let info = linux_from_root(root.path());
        assert_eq!(
            info,
            DeviceInfo {
                model: Some("ThinkPad X1 Carbon Gen 11".into()),
                os_type: Some("linux".into()),
                os_version: Some("debian 12".into())
            }
        );
        let json = serde_json::to_string(&info).unwrap();
        assert!(!json.contains("SECRET") && !json.contains("4c4c4544"), "{json}");
    }

    #[test]
    fn c1_linux_without_dmi_sends_no_model_and_skips_placeholders() {
        let root = tempfile::tempdir().unwrap();
        let info = linux_from_root(root.path());
        assert_eq!(info, DeviceInfo { model: None, os_type: Some("linux".into()), os_version: None });
        let dmi = root.path().join("sys/devices/virtual/dmi/id");
        std::fs::create_dir_all(&dmi).unwrap();
        std::fs::write(dmi.join("product_name"), "To Be Filled By O.E.M.\n").unwrap();
        assert_eq!(linux_from_root(root.path()).model, None);
        // ARM boards name themselves in the device tree.
        std::fs::create_dir_all(root.path().join("proc/device-tree")).unwrap();
        std::fs::write(root.path().join("proc/device-tree/model"), "Raspberry Pi 5 Model B Rev 1.0\0").unwrap();
        assert_eq!(linux_from_root(root.path()).model.as_deref(), Some("Raspberry Pi 5 Model B Rev 1.0"));
    }

    #[test]
    fn values_are_cleaned_to_what_the_server_accepts() {
        assert_eq!(clean(Some("  Pixel 8 Pro \n")).as_deref(), Some("Pixel 8 Pro"));
        assert_eq!(clean(Some("华为 Mate")).as_deref(), Some("?? Mate"));
        assert_eq!(clean(Some(&"x".repeat(100))).unwrap().len(), MAX_VALUE_LEN);
        assert_eq!(clean(Some("   ")), None);
        assert_eq!(clean(None), None);
        assert_eq!(parse_os_release("ID='ubuntu'\nVERSION_ID=24.04\n"), (Some("ubuntu".into()), Some("24.04".into())));
    }

    #[test]
    fn c1_this_device_yields_at_most_the_three_fields() {
        let info = collect();
        let json = serde_json::to_value(&info).unwrap();
        for key in json.as_object().unwrap().keys() {
            assert!(["model", "os_type", "os_version"].contains(&key.as_str()), "unexpected field {key}");
        }
        assert!(info.os_type.is_some());
    }
}
