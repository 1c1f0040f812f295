//! `/etc/resolv.conf` as Prometheus's DNS discovery reads it (miekg/dns `ClientConfig`): the
//! `nameserver`s, the `search` list (or `domain`), and the `ndots`, `timeout`, `attempts`
//! options; and the names to try for a name, in order. Pure parsing, no I/O but the read.

/// What a resolv.conf says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// Server addresses, as written (an IP address, or a host name).
    pub servers: Vec<String>,
    /// Search domains, in order.
    pub search: Vec<String>,
    /// A name with more labels than this is tried as is before the search domains.
    pub ndots: usize,
    /// `options timeout:` (seconds). Read, as Prometheus does, but not used by its lookup.
    pub timeout: u64,
    /// `options attempts:`. Read, as Prometheus does, but not used by its lookup.
    pub attempts: u64,
    /// The port asked on every server: 53 (resolv.conf has no way to say another).
    pub port: u16,
}

impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            servers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: 5,
            attempts: 2,
            port: 53,
        }
    }
}

/// Where the system's resolver configuration lives.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

impl ResolvConf {
    /// Reads and parses a resolv.conf file.
    pub fn load(path: &str) -> Result<ResolvConf, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not load resolv.conf: open {path}: {e}"))?;
        Ok(ResolvConf::parse(&text))
    }

    /// Parses resolv.conf text; unknown lines and options are ignored, as by the C library.
    pub fn parse(text: &str) -> ResolvConf {
        let mut c = ResolvConf::default();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(first) = f.first() else { continue };
            if first.starts_with('#') || first.starts_with(';') {
                continue;
            }
            match *first {
                "nameserver" => {
                    if let Some(s) = f.get(1) {
                        c.servers.push(s.to_string());
                    }
                }
                "domain" => c.search = f.get(1).map(|d| vec![d.to_string()]).unwrap_or_default(),
                "search" => c.search = f[1..].iter().map(|s| s.to_string()).collect(),
                "options" => {
                    for o in &f[1..] {
                        let num =
                            |p: &str| o.strip_prefix(p).map(|n| n.parse::<i64>().unwrap_or(0));
                        if let Some(n) = num("ndots:") {
                            c.ndots = n.clamp(0, 15) as usize;
                        } else if let Some(n) = num("timeout:") {
                            c.timeout = n.max(1) as u64;
                        } else if let Some(n) = num("attempts:") {
                            c.attempts = n.max(1) as u64;
                        }
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// The fully qualified names to try for `name`, in order: a rooted name alone; else the
    /// name itself first when it has more labels than `ndots`, then the name under each
    /// search domain, then the name itself last when it has not.
    pub fn name_list(&self, name: &str) -> Vec<String> {
        if is_fqdn(name) {
            return vec![name.to_string()];
        }
        let has_ndots = count_labels(name) > self.ndots;
        let name = fqdn(name);
        let mut out = Vec::new();
        if has_ndots {
            out.push(name.clone());
        }
        for s in &self.search {
            out.push(fqdn(&format!("{name}{s}")));
        }
        if !has_ndots {
            out.push(name);
        }
        out
    }
}

/// Whether a name ends in an unescaped dot.
pub fn is_fqdn(name: &str) -> bool {
    let Some(body) = name.strip_suffix('.') else {
        return false;
    };
    let backslashes = body.len() - body.trim_end_matches('\\').len();
    backslashes % 2 == 0
}

/// The name with a trailing dot.
pub fn fqdn(name: &str) -> String {
    if is_fqdn(name) {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// How many labels a name has (`a.b` and `a.b.` have two, `.` none).
fn count_labels(name: &str) -> usize {
    let mut n = 0;
    let mut in_label = false;
    let mut escaped = false;
    for ch in name.chars() {
        if escaped {
            escaped = false;
            in_label = true;
            continue;
        }
        match ch {
            '\\' => escaped = true,
            '.' => {
                if in_label {
                    n += 1;
                }
                in_label = false;
            }
            _ => in_label = true,
        }
    }
    if in_label || escaped {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_servers_search_and_options() {
        let c = ResolvConf::parse(
            "# comment\n; other\nnameserver 127.0.0.2\nnameserver ::1\ndomain a.test\n\
             search svc.test  corp.test\noptions ndots:3 timeout:0 attempts:4 rotate\n",
        );
        assert_eq!(c.servers, ["127.0.0.2", "::1"]);
        assert_eq!(
            c.search,
            ["svc.test", "corp.test"],
            "search replaces domain"
        );
        assert_eq!((c.ndots, c.timeout, c.attempts, c.port), (3, 1, 4, 53));
        let c = ResolvConf::parse("search x.test\ndomain d.test\noptions ndots:40\n");
        assert_eq!(c.search, ["d.test"], "the last of domain and search wins");
        assert_eq!(c.ndots, 15);
        assert_eq!(ResolvConf::parse(""), ResolvConf::default());
    }

    #[test]
    fn name_list_follows_ndots() {
        let c = ResolvConf::parse("search svc.test corp.test\n");
        assert_eq!(c.name_list("web."), ["web."]);
        assert_eq!(
            c.name_list("web"),
            ["web.svc.test.", "web.corp.test.", "web."]
        );
        assert_eq!(
            c.name_list("_x._tcp.example"),
            [
                "_x._tcp.example.",
                "_x._tcp.example.svc.test.",
                "_x._tcp.example.corp.test."
            ]
        );
        let c = ResolvConf::parse("search svc.test\noptions ndots:5\n");
        assert_eq!(c.name_list("a.b.c"), ["a.b.c.svc.test.", "a.b.c."]);
        assert_eq!(count_labels("a\\.b.c"), 2);
        assert!(!is_fqdn("a\\."));
        assert!(is_fqdn("a\\\\."));
    }
}
