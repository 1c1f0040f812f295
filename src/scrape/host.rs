//! The built-in host collector: CPU, memory, load, filesystems and network from /proc (and
//! statvfs), exposed in text format with node_exporter's metric names, so `promterm serve`
//! without a config shows this host like a node exporter would. Linux only; elsewhere the
//! page is empty.

use std::fmt::Write;

const USER_HZ: f64 = 100.0;

const FS_IGNORED_TYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "procfs",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tracefs",
];

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn cpu(out: &mut String, stat: &str) {
    const MODES: [&str; 8] = [
        "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
    ];
    header(
        out,
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
    );
    for line in stat.lines() {
        let mut f = line.split_whitespace();
        let Some(cpu) = f.next().and_then(|c| c.strip_prefix("cpu")) else {
            continue;
        };
        if cpu.is_empty() {
            continue;
        }
        for (mode, v) in MODES.iter().zip(f) {
            if let Ok(v) = v.parse::<f64>() {
                let _ = writeln!(
                    out,
                    "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {}",
                    v / USER_HZ
                );
            }
        }
    }
    for (key, name, kind, help) in [
        (
            "btime",
            "node_boot_time_seconds",
            "gauge",
            "Node boot time, in unixtime.",
        ),
        (
            "ctxt",
            "node_context_switches_total",
            "counter",
            "Total number of context switches.",
        ),
        (
            "intr",
            "node_intr_total",
            "counter",
            "Total number of interrupts serviced.",
        ),
        (
            "processes",
            "node_forks_total",
            "counter",
            "Total number of forks.",
        ),
        (
            "procs_running",
            "node_procs_running",
            "gauge",
            "Number of processes in runnable state.",
        ),
        (
            "procs_blocked",
            "node_procs_blocked",
            "gauge",
            "Number of processes blocked waiting for I/O to complete.",
        ),
    ] {
        let v = stat.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(key)).then(|| f.next()).flatten()
        });
        if let Some(v) = v {
            header(out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
    }
}

fn load(out: &mut String, loadavg: &str) {
    let f: Vec<&str> = loadavg.split_whitespace().collect();
    for (i, n) in ["1", "5", "15"].iter().enumerate() {
        if let Some(v) = f.get(i) {
            header(
                out,
                &format!("node_load{n}"),
                "gauge",
                &format!("{n}m load average."),
            );
            let _ = writeln!(out, "node_load{n} {v}");
        }
    }
}

fn memory(out: &mut String, meminfo: &str) {
    for line in meminfo.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let Some(Ok(v)) = f.next().map(str::parse::<f64>) else {
            continue;
        };
        let key = key.replace('(', "_").replace(')', "");
        let (name, v) = if f.next() == Some("kB") {
            (format!("node_memory_{key}_bytes"), v * 1024.0)
        } else {
            (format!("node_memory_{key}"), v)
        };
        header(
            out,
            &name,
            "gauge",
            &format!("Memory information field {key}."),
        );
        let _ = writeln!(out, "{name} {v}");
    }
}

fn network(out: &mut String, netdev: &str) {
    const FIELDS: [(&str, usize); 8] = [
        ("receive_bytes", 0),
        ("receive_packets", 1),
        ("receive_errs", 2),
        ("receive_drop", 3),
        ("transmit_bytes", 8),
        ("transmit_packets", 9),
        ("transmit_errs", 10),
        ("transmit_drop", 11),
    ];
    let rows: Vec<(&str, Vec<&str>)> = netdev
        .lines()
        .skip(2)
        .filter_map(|l| {
            let (dev, rest) = l.split_once(':')?;
            Some((dev.trim(), rest.split_whitespace().collect()))
        })
        .collect();
    for (field, i) in FIELDS {
        let name = format!("node_network_{field}_total");
        header(
            out,
            &name,
            "counter",
            &format!("Network device statistic {field}."),
        );
        for (dev, vals) in &rows {
            if let Some(v) = vals.get(i) {
                let _ = writeln!(out, "{name}{{device=\"{}\"}} {v}", esc(dev));
            }
        }
    }
}

/// Total, free and available bytes of the filesystem holding `path` (statvfs(3)).
#[cfg(unix)]
fn statvfs(path: &str) -> Option<(f64, f64, f64)> {
    let c = std::ffi::CString::new(path).ok()?;
    let mut buf = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a valid NUL-terminated path and `buf` is a `struct statvfs`, which the
    // call fills in on success.
    let rc = unsafe { libc::statvfs(c.as_ptr(), buf.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised the struct.
    let s = unsafe { buf.assume_init() };
    let bs = s.f_frsize as f64;
    Some((
        s.f_blocks as f64 * bs,
        s.f_bfree as f64 * bs,
        s.f_bavail as f64 * bs,
    ))
}

#[cfg(not(unix))]
fn statvfs(_path: &str) -> Option<(f64, f64, f64)> {
    None
}

fn filesystems(out: &mut String, mounts: &str) {
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [device, mountpoint, fstype, ..] = f[..] else {
            continue;
        };
        let mountpoint = mountpoint.replace("\\040", " ");
        let skip_mount = ["/dev", "/proc", "/sys"]
            .iter()
            .any(|p| mountpoint == *p || mountpoint.starts_with(&format!("{p}/")))
            || mountpoint.starts_with("/var/lib/docker/")
            || mountpoint.starts_with("/run/credentials/");
        if FS_IGNORED_TYPES.contains(&fstype) || skip_mount || !seen.insert(mountpoint.clone()) {
            continue;
        }
        if let Some(s) = statvfs(&mountpoint) {
            rows.push((device.to_string(), fstype.to_string(), mountpoint, s));
        }
    }
    for (name, help, pick) in [
        ("node_filesystem_size_bytes", "Filesystem size in bytes.", 0),
        (
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
            1,
        ),
        (
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
            2,
        ),
    ] {
        header(out, name, "gauge", help);
        for (dev, fstype, mp, (size, free, avail)) in &rows {
            let v = [size, free, avail][pick];
            let _ = writeln!(
                out,
                "{name}{{device=\"{}\",fstype=\"{}\",mountpoint=\"{}\"}} {v}",
                esc(dev),
                esc(fstype),
                esc(mp)
            );
        }
    }
}

/// The host's metrics page (text format 0.0.4).
pub fn page() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mut out = String::with_capacity(16 * 1024);
    cpu(&mut out, &read("/proc/stat"));
    load(&mut out, &read("/proc/loadavg"));
    memory(&mut out, &read("/proc/meminfo"));
    network(&mut out, &read("/proc/net/dev"));
    filesystems(&mut out, &read("/proc/mounts"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    header(
        &mut out,
        "node_time_seconds",
        "gauge",
        "System time in seconds since epoch (1970).",
    );
    let _ = writeln!(out, "node_time_seconds {now}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::textparse::{Entry, Format, Parser};

    #[test]
    fn parses_proc_samples() {
        let mut out = String::new();
        cpu(&mut out, "cpu  10 0 5 100 1 0 0 0 0 0\ncpu0 250 1 50 1000 2 0 3 0 0 0\nctxt 99\nbtime 1700000000\n");
        load(&mut out, "0.50 0.25 0.10 1/100 42\n");
        memory(
            &mut out,
            "MemTotal:       16384 kB\nActive(anon):   2048 kB\nHugePages_Total:       0\n",
        );
        network(
            &mut out,
            "Inter-|   Receive\n face |bytes\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n",
        );
        assert!(
            out.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 2.5\n"),
            "{out}"
        );
        assert!(out.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"softirq\"} 0.03\n"));
        assert!(!out.contains("cpu=\"\""), "the total line is skipped");
        assert!(out.contains("node_context_switches_total 99\n"));
        assert!(out.contains("node_load5 0.25\n"));
        assert!(out.contains("node_memory_MemTotal_bytes 16777216\n"));
        assert!(out.contains("node_memory_Active_anon_bytes 2097152\n"));
        assert!(out.contains("node_memory_HugePages_Total 0\n"));
        assert!(out.contains("node_network_transmit_bytes_total{device=\"eth0\"} 2000\n"));
    }

    #[test]
    fn the_live_page_parses() {
        let p = page();
        let n = Parser::new(&p, Format::Text)
            .map(|e| e.expect("valid exposition"))
            .filter(|e| matches!(e, Entry::Sample(_)))
            .count();
        if cfg!(target_os = "linux") {
            assert!(n > 20, "only {n} samples:\n{p}");
            assert!(p.contains("node_filesystem_size_bytes{"), "{p}");
        }
    }
}
