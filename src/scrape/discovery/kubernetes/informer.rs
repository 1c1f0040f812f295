//! One list-and-watch loop (client-go's reflector, in our own words): list the objects of a
//! kind in a namespace (or all), then watch from the list's resource version with bookmarks;
//! every event and bookmark moves the version. A watch the server ends is started again from
//! the last version; a `410 Gone` (as a status or as an ERROR event) lists again; any other
//! failure (an HTTP error, bad JSON, a stream cut in the middle) is reported and retried with
//! a growing backoff, from the last version. What happens goes to the discoverer as [`Msg`]s.
//! Uses `client`, `objects`, tokio.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client::{Api, RequestError};
use super::objects::{parse_event, parse_list, Event, Kind, Obj};
use crate::scrape::client::error_chain;

/// What an informer tells its discoverer.
#[derive(Debug)]
pub enum Msg {
    /// A full list: these are all the objects of `kind` in `ns` (empty: all namespaces).
    Listed {
        kind: Kind,
        ns: String,
        objs: Vec<Obj>,
        id: usize,
    },
    /// One change.
    Changed {
        kind: Kind,
        change: Change,
        obj: Box<Obj>,
    },
    /// The informer `id` failed; it retries.
    Failed { id: usize, error: String },
    /// The informer `id` is connected again.
    Healthy { id: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Modified,
    Deleted,
}

/// Timings of the loop (shorter in tests).
#[derive(Debug, Clone)]
pub struct Timing {
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How long the server keeps a watch open (`timeoutSeconds`).
    pub watch_timeout: Duration,
    pub list_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            backoff_min: Duration::from_millis(800),
            backoff_max: Duration::from_secs(30),
            watch_timeout: Duration::from_secs(300),
            list_timeout: Duration::from_secs(60),
        }
    }
}

/// One informer: what it lists and where it reports.
pub struct Informer {
    pub api: Api,
    pub id: usize,
    pub kind: Kind,
    pub ns: String,
    pub label_selector: String,
    pub field_selector: String,
    pub tx: mpsc::Sender<Msg>,
    pub timing: Timing,
}

/// How a watch ended.
enum End {
    /// The server closed it cleanly: watch again from the last version.
    Closed {
        events: usize,
    },
    /// The version is too old: list again.
    Gone,
    Failed(String),
    Stopped,
}

impl Informer {
    fn scope(&self) -> String {
        if !self.kind.namespaced() {
            String::new()
        } else if self.ns.is_empty() {
            " in all namespaces".into()
        } else {
            format!(" in namespace {:?}", self.ns)
        }
    }

    fn query<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut q = Vec::new();
        if !self.label_selector.is_empty() {
            q.push(("labelSelector", self.label_selector.as_str()));
        }
        if !self.field_selector.is_empty() {
            q.push(("fieldSelector", self.field_selector.as_str()));
        }
        q.extend_from_slice(extra);
        q
    }

    async fn send(&self, m: Msg) -> bool {
        self.tx.send(m).await.is_ok()
    }

    async fn list(&self) -> Result<(String, Vec<Obj>), String> {
        let url = self.api.url(&self.kind.path(&self.ns), &self.query(&[]));
        let what = format!(
            "listing {}{} from {url:?}",
            self.kind.resource(),
            self.scope()
        );
        let resp = self
            .api
            .get(&url, self.timing.list_timeout)
            .await
            .map_err(|e| format!("{what}: {}", e.message))?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("{what}: {}", error_chain(&e)))?;
        parse_list(self.kind, &body).map_err(|e| format!("{what}: invalid JSON: {e}"))
    }

    /// Runs until `stop`, or until the discoverer is gone.
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = self.timing.backoff_min;
        loop {
            let listed = tokio::select! {
                _ = stop.cancelled() => return,
                r = self.list() => r,
            };
            let mut rv = match listed {
                Ok((rv, objs)) => {
                    let m = Msg::Listed {
                        kind: self.kind,
                        ns: self.ns.clone(),
                        objs,
                        id: self.id,
                    };
                    if !self.send(m).await || !self.send(Msg::Healthy { id: self.id }).await {
                        return;
                    }
                    backoff = self.timing.backoff_min;
                    rv
                }
                Err(error) => {
                    tracing::warn!("Kubernetes discovery: {error}");
                    if !self.send(Msg::Failed { id: self.id, error }).await
                        || !sleep(&stop, backoff).await
                    {
                        return;
                    }
                    backoff = (backoff * 2).min(self.timing.backoff_max);
                    continue;
                }
            };
            loop {
                let started = Instant::now();
                match self.watch(&mut rv, &stop).await {
                    End::Stopped => return,
                    End::Gone => {
                        tracing::debug!(
                            kind = self.kind.resource(),
                            "watch: 410 Gone, listing again"
                        );
                        break;
                    }
                    End::Closed { events } => {
                        backoff = self.timing.backoff_min;
                        // A server that ends watches at once must not make us spin.
                        if events == 0
                            && started.elapsed() < Duration::from_secs(1)
                            && !sleep(&stop, self.timing.backoff_min).await
                        {
                            return;
                        }
                    }
                    End::Failed(error) => {
                        tracing::warn!("Kubernetes discovery: {error}");
                        if !self.send(Msg::Failed { id: self.id, error }).await
                            || !sleep(&stop, backoff).await
                        {
                            return;
                        }
                        backoff = (backoff * 2).min(self.timing.backoff_max);
                    }
                }
            }
        }
    }

    /// One watch from `rv`, which each event moves.
    async fn watch(&self, rv: &mut String, stop: &CancellationToken) -> End {
        let timeout = self.timing.watch_timeout.as_secs().max(1).to_string();
        let url = self.api.url(
            &self.kind.path(&self.ns),
            &self.query(&[
                ("watch", "1"),
                ("resourceVersion", rv.as_str()),
                ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", timeout.as_str()),
            ]),
        );
        let what = format!(
            "watching {}{} at {url:?}",
            self.kind.resource(),
            self.scope()
        );
        let req = self
            .api
            .get(&url, self.timing.watch_timeout + Duration::from_secs(30));
        let mut resp = tokio::select! {
            _ = stop.cancelled() => return End::Stopped,
            r = req => match r {
                Ok(r) => r,
                Err(RequestError { status: Some(410), .. }) => return End::Gone,
                Err(e) => return End::Failed(format!("{what}: {}", e.message)),
            },
        };
        if !self.send(Msg::Healthy { id: self.id }).await {
            return End::Stopped;
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut events = 0;
        loop {
            let chunk = tokio::select! {
                _ = stop.cancelled() => return End::Stopped,
                c = resp.chunk() => c,
            };
            match chunk {
                Ok(Some(bytes)) => buf.extend_from_slice(&bytes),
                Ok(None) => {
                    if buf.iter().any(|b| !b.is_ascii_whitespace()) {
                        return End::Failed(format!(
                            "{what}: the stream ended in the middle of an event ({} bytes left)",
                            buf.len()
                        ));
                    }
                    return End::Closed { events };
                }
                Err(e) => return End::Failed(format!("{what}: stream cut: {}", error_chain(&e))),
            }
            let mut start = 0;
            while let Some(n) = buf[start..].iter().position(|&b| b == b'\n') {
                let line = &buf[start..start + n];
                start += n + 1;
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let ev = match parse_event(self.kind, line) {
                    Ok(ev) => ev,
                    Err(e) => {
                        let shown =
                            String::from_utf8_lossy(&line[..line.len().min(120)]).into_owned();
                        return End::Failed(format!("{what}: invalid watch event {shown:?}: {e}"));
                    }
                };
                let (change, obj) = match ev {
                    Event::Added(o) => (Change::Added, o),
                    Event::Modified(o) => (Change::Modified, o),
                    Event::Deleted(o) => (Change::Deleted, o),
                    Event::Bookmark(v) => {
                        if !v.is_empty() {
                            *rv = v;
                        }
                        continue;
                    }
                    Event::Error(s) if s.code == 410 => return End::Gone,
                    Event::Error(s) => {
                        return End::Failed(format!(
                            "{what}: error event {} {}: {}",
                            s.code, s.reason, s.message
                        ))
                    }
                };
                if !obj.meta().resource_version.is_empty() {
                    *rv = obj.meta().resource_version.clone();
                }
                events += 1;
                if !self
                    .send(Msg::Changed {
                        kind: self.kind,
                        change,
                        obj: Box::new(obj),
                    })
                    .await
                {
                    return End::Stopped;
                }
            }
            buf.drain(..start);
        }
    }
}

/// Sleeps unless stopped first; false when stopped.
async fn sleep(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}
