//! A local HTTP server standing in for upstream, so downloads are tested without the Internet.
//!
//! Point a fetch at it with [`FetchOptions::source_base`](crate::FetchOptions) (or the
//! [`SOURCE_BASE_ENV`](crate::SOURCE_BASE_ENV) variable for a child process): a manifest URL
//! `https://github.com/a/b` is then requested here as `/github.com/a/b`. Each route can serve a
//! file, fail, send wrong bytes, break off mid-transfer or redirect, and every request is
//! logged with its `Range` header so tests can assert what was asked. Plain `std::net`, one
//! thread per connection, HTTP/1.1 with `Connection: close`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What the server answers for one path.
#[derive(Debug, Clone)]
pub enum Route {
    /// The file's bytes (ranges honoured).
    File(PathBuf),
    /// These bytes (ranges honoured).
    Bytes(Vec<u8>),
    /// This status and an empty body (a dead source).
    Status(u16),
    /// A request without a range gets the file's full `Content-Length` but only its first
    /// `n` bytes before the connection closes; a request with a range is served in full (so a
    /// resumed download completes).
    CutAfter(PathBuf, usize),
    /// `302 Found` to this absolute URL (as GitHub's `raw` addresses redirect).
    Redirect(String),
}

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The request path, e.g. `/github.com/opencv/…`.
    pub path: String,
    /// The `Range` header, when sent.
    pub range: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    served: Vec<Served>,
}

/// The running server; it lives as long as the test process.
#[derive(Clone)]
pub struct LocalUpstream {
    base: String,
    state: Arc<Mutex<State>>,
}

impl LocalUpstream {
    /// Starts a server on a free port of 127.0.0.1 with no routes (every path: 404).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = answer(stream, &state);
                });
            }
        });
        LocalUpstream { base, state }
    }

    /// A server holding every source of every pinned model, each under its manifest URL and
    /// with exactly that source's bytes (see [`model_source_file`](super::model_source_file)).
    pub fn serving_every_model() -> Self {
        let upstream = Self::start();
        for asset in crate::models().assets {
            for source in &asset.sources {
                upstream.route(&source.url, Route::File(super::model_source_file(&asset.name, &source.sha256)));
            }
        }
        upstream
    }

    /// The base URL to give as the source base (`http://127.0.0.1:PORT`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Serves `route` where a fetch with this server as its source base asks for `url`.
    pub fn route(&self, url: &str, route: Route) {
        self.state.lock().expect("state").routes.insert(Self::path_of(url), route);
    }

    /// The path under which `url` (a manifest URL) is asked for.
    pub fn path_of(url: &str) -> String {
        format!("/{}", url.split_once("://").map_or(url, |(_, rest)| rest))
    }

    /// Every request answered so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.state.lock().expect("state").served.clone()
    }
}

fn answer(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_owned());
        }
    }
    let route = state.lock().expect("state").routes.get(&path).cloned();
    let from = range.as_deref().and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse::<usize>().ok());
    let mut out = stream;
    let (status, head, body, cut): (u16, String, Vec<u8>, Option<usize>) = match route {
        None => (404, String::new(), Vec::new(), None),
        Some(Route::Status(code)) => (code, String::new(), Vec::new(), None),
        Some(Route::Redirect(to)) => (302, format!("Location: {to}\r\n"), Vec::new(), None),
        Some(Route::File(p)) => ranged(std::fs::read(p)?, from, None),
        Some(Route::Bytes(bytes)) => ranged(bytes, from, None),
        Some(Route::CutAfter(p, n)) => ranged(std::fs::read(p)?, from, Some(n).filter(|_| from.is_none())),
    };
    state.lock().expect("state").served.push(Served { path, range, status });
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Status",
    };
    write!(out, "HTTP/1.1 {status} {reason}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    out.write_all(&body[..cut.unwrap_or(body.len()).min(body.len())])?;
    out.flush()
}

/// A 200 with everything, or a 206/416 for `bytes=FROM-`.
fn ranged(bytes: Vec<u8>, from: Option<usize>, cut: Option<usize>) -> (u16, String, Vec<u8>, Option<usize>) {
    let len = bytes.len();
    match from {
        None => (200, String::new(), bytes, cut),
        Some(from) if from < len => (206, format!("Content-Range: bytes {from}-{}/{len}\r\n", len - 1), bytes[from..].to_vec(), None),
        Some(_) => (416, format!("Content-Range: bytes */{len}\r\n"), Vec::new(), None),
    }
}
