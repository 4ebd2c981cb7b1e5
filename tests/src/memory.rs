//! The memory of a desktop app as the system shares it out: PSS (proportional set size, from
//! `/proc/PID/smaps_rollup`) summed over the app's whole process tree, its own process and
//! WebKitGTK's WebKitWebProcess and WebKitNetworkProcess. RSS would count the shared libraries
//! (WebKit, GTK, Mesa's LLVM) once in every process; PSS splits each shared page between the
//! processes that map it, so the sum over the tree is what the app costs the machine.
//!
//! Used by `podpis-bench memory`, which sets podpis-desktop against an empty Tauri 2 app
//! (bench/empty-app) started the same way, under the same Xvfb, in the same run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One process of a tree, as `smaps_rollup` and `status` give it (KiB).
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    /// `main` for the app's own process, else the executable's file name.
    pub kind: String,
    pub pss_kib: u64,
    /// Anonymous memory: heaps, the JavaScript heap, GL and tile buffers (not files).
    pub anonymous_kib: u64,
    pub private_dirty_kib: u64,
    pub threads: u64,
    /// The PSS the process would have if its tree ran alone on the machine: each resident page
    /// split between the processes of the tree that map it, not with the rest of the machine.
    /// From the page frames in `/proc/PID/pagemap`, which only root may read; `None` otherwise.
    /// Set by [`alone`] on a settled sample (it reads every resident page's entry).
    pub alone_kib: Option<u64>,
}

/// The parent of `pid`, from `/proc/PID/stat` (the field after the state, which follows the
/// parenthesised command name; the name may itself hold spaces and parentheses).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` runs (a zombie nobody has reaped yet does not).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = stat[stat.rfind(')')? + 1..].to_owned();
            rest.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// `root` and every process descended from it, `root` first.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(pid) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        if let Some(kids) = children.get(&tree[next]) {
            tree.extend(kids);
        }
        next += 1;
    }
    tree
}

/// The `Key:   N kB` field of a `/proc` file.
fn field_kib(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The tree's processes now. A process that exits while it is read is left out.
pub fn snapshot(root: u32) -> Vec<Process> {
    descendants(root)
        .into_iter()
        .filter_map(|pid| {
            let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let kind = if pid == root {
                "main".to_owned()
            } else {
                fs::read_link(format!("/proc/{pid}/exe"))
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "?".into())
            };
            Some(Process {
                pid,
                kind,
                pss_kib: field_kib(&rollup, "Pss:"),
                anonymous_kib: field_kib(&rollup, "Anonymous:"),
                private_dirty_kib: field_kib(&rollup, "Private_Dirty:"),
                threads: field_kib(&status, "Threads:"),
                alone_kib: None,
            })
        })
        .collect()
}

pub fn total_pss_kib(processes: &[Process]) -> u64 {
    processes.iter().map(|p| p.pss_kib).sum()
}

/// The page frames `pid` maps now (each once), from the areas `smaps` says hold resident pages.
/// `None` when the frame numbers are hidden (not root) or the process is gone.
fn frames(pid: u32) -> Option<Vec<u64>> {
    use std::os::unix::fs::FileExt;
    const PAGE: u64 = 4096;
    const PRESENT: u64 = 1 << 63;
    const FRAME: u64 = (1 << 55) - 1;
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let pagemap = fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
    let mut frames = Vec::new();
    let mut area: Option<(u64, u64)> = None;
    let mut buffer = vec![0u8; 8 * 4096];
    for line in smaps.lines() {
        if let Some((range, _)) = line.split_once(' ') {
            if let Some((start, end)) = range.split_once('-') {
                if let (Ok(start), Ok(end)) =
                    (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
                {
                    area = Some((start, end));
                    continue;
                }
            }
        }
        let Some((start, end)) = area else { continue };
        if !line.starts_with("Rss:") {
            continue;
        }
        area = None;
        if field_kib(line, "Rss:") == 0 {
            continue;
        }
        let mut page = start / PAGE;
        while page < end / PAGE {
            let count = ((end / PAGE - page) as usize).min(buffer.len() / 8);
            let read = pagemap.read_at(&mut buffer[..count * 8], page * 8).ok()?;
            for entry in buffer[..read].chunks_exact(8) {
                let entry = u64::from_le_bytes(entry.try_into().ok()?);
                if entry & PRESENT != 0 {
                    if entry & FRAME == 0 {
                        return None;
                    }
                    frames.push(entry & FRAME);
                }
            }
            if read == 0 {
                break;
            }
            page += (read / 8) as u64;
        }
    }
    frames.sort_unstable();
    frames.dedup();
    Some(frames)
}

/// Fills in every process's [`Process::alone_kib`] (or leaves them all `None` when a process's
/// frames cannot be read). Unlike the PSS, it does not fall when another program maps the same
/// libraries (another WebKit app, another X server's GL), so it compares runs made while the
/// machine was busy.
pub fn alone(processes: &mut [Process]) {
    let Some(per_process) = processes
        .iter()
        .map(|p| frames(p.pid))
        .collect::<Option<Vec<Vec<u64>>>>()
    else {
        return;
    };
    let mut mappers: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    for frame in per_process.iter().flatten() {
        *mappers.entry(*frame).or_default() += 1;
    }
    for (process, frames) in processes.iter_mut().zip(&per_process) {
        let kib: f64 = frames
            .iter()
            .map(|f| 4.0 / f64::from(mappers.get(f).copied().unwrap_or(1)))
            .sum();
        process.alone_kib = Some(kib.round() as u64);
    }
}

/// How often the tree is sampled while it settles.
const SAMPLE: Duration = Duration::from_millis(250);
/// The tree is idle once its PSS has stayed within [`STILL_KIB`] over this long.
const STILL_FOR: Duration = Duration::from_secs(4);
const STILL_KIB: u64 = 1024;

/// The app's tree once it has loaded and gone idle.
pub struct Settled {
    pub processes: Vec<Process>,
    /// Processes of other WebKit apps (or other X servers' GL) on the machine at the time
    /// ([`other_webkit_processes`]); 0 unless the machine never went quiet.
    pub others: usize,
    /// From the start of the process to the first sample of the still stretch.
    pub after: Duration,
}

/// How long a settled app waits for other WebKit processes on the machine to go away before it
/// is measured beside them anyway (and the report says so): 120 s, or the seconds in
/// `PODPIS_BENCH_QUIET_WAIT` (0 for experiments compared by [`Process::alone_kib`] alone).
fn quiet_wait() -> Duration {
    Duration::from_secs(
        std::env::var("PODPIS_BENCH_QUIET_WAIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(120),
    )
}

/// Waits until the app's web process exists and the tree's total PSS has moved by no more than
/// 1 MiB for 4 s (a page that has loaded and runs nothing more), then returns the last sample.
/// A fixed sleep would measure a slow start half-way or waste time on a fast one. A still
/// stretch counts only while no other process maps WebKit's or Mesa's libraries (`ignore` holds
/// the bench's own X server): their pages would be shared with it and the PSS would come out
/// low. `timeout` bounds the wait for the app to settle at all.
pub fn wait_settled(
    child: &mut Child,
    started: Instant,
    timeout: Duration,
    ignore: &[u32],
) -> Result<Settled, String> {
    let root = child.id();
    let window = (STILL_FOR.as_millis() / SAMPLE.as_millis()) as usize;
    let mut recent: Vec<(Instant, u64)> = Vec::new();
    let mut still_once = false;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the app exited before it settled ({status})"));
        }
        let processes = snapshot(root);
        let loaded = processes.iter().any(|p| p.kind == "WebKitWebProcess");
        if loaded {
            recent.push((Instant::now(), total_pss_kib(&processes)));
            if recent.len() > window {
                recent.remove(0);
            }
            let low = recent.iter().map(|s| s.1).min().unwrap_or(0);
            let high = recent.iter().map(|s| s.1).max().unwrap_or(0);
            if recent.len() == window && high - low <= STILL_KIB {
                still_once = true;
                let mut mine: Vec<u32> = processes.iter().map(|p| p.pid).collect();
                mine.extend(ignore);
                let others = other_webkit_processes(&mine);
                if others == 0 || started.elapsed() > quiet_wait() {
                    let mut processes = processes;
                    alone(&mut processes);
                    return Ok(Settled {
                        others,
                        processes,
                        after: recent[0].0 - started,
                    });
                }
                // Measured again once the others are gone and the tree is still after it.
                recent.clear();
            }
        }
        let limit = if still_once {
            quiet_wait() + timeout
        } else {
            timeout
        };
        if started.elapsed() > limit {
            return Err(format!(
                "the app did not settle in {} s (web process up: {loaded}; last totals {:?} KiB)",
                limit.as_secs(),
                recent.iter().map(|s| s.1).collect::<Vec<_>>()
            ));
        }
        std::thread::sleep(SAMPLE);
    }
}

/// An Xvfb server on a display it picks itself, stopped when dropped.
pub struct Display {
    server: Child,
    pub name: String,
}

impl Display {
    /// The same screen as the desktop tests'.
    pub fn start() -> Self {
        let (server, name) = crate::screen::start_xvfb();
        Self { server, name }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// One app measured once: started on `display` with `envs`, measured once settled, then
/// stopped, and its whole tree gone before this returns (so the next app starts on a quiet
/// machine and shares no page with this one).
pub fn measure_once(
    program: &Path,
    display: &Display,
    envs: &[(&str, &std::ffi::OsStr)],
    log: &Path,
) -> Result<Settled, String> {
    let log_file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .env("DISPLAY", &display.name)
        // The bench may run with the GOST engine's configuration; a person's app does not.
        .env_remove("OPENSSL_CONF")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let settled = wait_settled(
        &mut child,
        started,
        Duration::from_secs(90),
        &[display.server.id()],
    );
    let tree = descendants(child.id());
    let _ = child.kill();
    let _ = child.wait();
    // WebKit's processes leave when their connection to the app closes.
    let deadline = Instant::now() + Duration::from_secs(20);
    while tree.iter().any(|pid| alive(*pid)) {
        if Instant::now() > deadline {
            for pid in &tree {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    settled
}

/// Processes outside `tree` that map WebKitGTK's library or a Mesa driver (another WebKit app,
/// another X server with GL) now. PSS splits a shared page between all the processes that map
/// it, so such a process beside the app measured makes it look smaller.
pub fn other_webkit_processes(tree: &[u32]) -> usize {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| !tree.contains(pid))
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|maps| {
                maps.lines().any(|l| {
                    (l.contains("/libwebkit2gtk") && l.contains(".so")) || l.contains("_dri.so")
                })
            })
        })
        .count()
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The size of a file, or of all files under a directory, in KiB.
pub fn size_kib(path: &Path) -> u64 {
    fn bytes(path: &Path) -> u64 {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| bytes(&e.path()))
                .sum(),
            Ok(m) => m.len(),
            Err(_) => 0,
        }
    }
    bytes(path) / 1024
}

/// One app of the comparison.
pub struct Subject {
    pub name: String,
    pub program: PathBuf,
    pub envs: Vec<(String, std::ffi::OsString)>,
}

/// The processes a tree is reported by; any other (a module probe still running) is `other`.
pub const KINDS: [&str; 4] = ["main", "WebKitWebProcess", "WebKitNetworkProcess", "other"];

fn kind_of(p: &Process) -> &'static str {
    KINDS
        .iter()
        .find(|k| **k == p.kind)
        .copied()
        .unwrap_or("other")
}

/// One settled sample summed by kind: (PSS, anonymous, private dirty, threads) per kind.
fn by_kind(processes: &[Process]) -> BTreeMap<&'static str, [u64; 4]> {
    let mut sums: BTreeMap<&'static str, [u64; 4]> = BTreeMap::new();
    for p in processes {
        let s = sums.entry(kind_of(p)).or_default();
        s[0] += p.pss_kib;
        s[1] += p.anonymous_kib;
        s[2] += p.private_dirty_kib;
        s[3] += p.threads;
    }
    sums
}

/// Runs every subject `runs` times, interleaved (the order turned round on every run, so neither
/// app always follows the other), each alone on one Xvfb, and prints the medians as Markdown.
/// Returns the median PSS totals and the median totals if alone (KiB) in the subjects' order.
pub fn report(subjects: &[Subject], runs: usize, logs: &Path) -> Vec<(u64, Option<u64>)> {
    let display = Display::start();
    let mut samples: Vec<Vec<Settled>> = subjects.iter().map(|_| Vec::new()).collect();
    for run in 0..runs {
        let mut order: Vec<usize> = (0..subjects.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let subject = &subjects[i];
            let envs: Vec<(&str, &std::ffi::OsStr)> = subject
                .envs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_os_str()))
                .collect();
            let log = logs.join(format!("memory-{i}-{run}.log"));
            let settled = measure_once(&subject.program, &display, &envs, &log)
                .unwrap_or_else(|e| panic!("{}: {e} (log: {})", subject.name, log.display()));
            samples[i].push(settled);
        }
    }
    println!(
        "| PSS, MiB (median of {runs}) | total | {} | total if alone on the machine |",
        KINDS.join(" | ")
    );
    println!("|---|---|---|---|---|---|---|");
    let mut totals = Vec::new();
    for (subject, settled) in subjects.iter().zip(&samples) {
        let total = median(
            settled
                .iter()
                .map(|s| total_pss_kib(&s.processes))
                .collect(),
        );
        let cells: Vec<String> = KINDS
            .iter()
            .map(|k| {
                mib(median(
                    settled
                        .iter()
                        .map(|s| by_kind(&s.processes).get(k).map_or(0, |v| v[0]))
                        .collect(),
                ))
            })
            .collect();
        let alone: Option<Vec<u64>> = settled
            .iter()
            .map(|s| s.processes.iter().map(|p| p.alone_kib).sum::<Option<u64>>())
            .collect();
        let alone = alone.map(median);
        totals.push((total, alone));
        let alone = alone.map_or("(needs root)".to_owned(), mib);
        println!(
            "| {} | **{}** | {} | {alone} |",
            subject.name,
            mib(total),
            cells.join(" | ")
        );
    }
    println!();
    for (subject, settled) in subjects.iter().zip(&samples) {
        let per_kind = |field: usize, show: fn(u64) -> String| -> String {
            KINDS[..3]
                .iter()
                .map(|k| {
                    let v = median(
                        settled
                            .iter()
                            .map(|s| by_kind(&s.processes).get(k).map_or(0, |v| v[field]))
                            .collect(),
                    );
                    format!("{k} {}", show(v))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let runs_total: Vec<String> = settled
            .iter()
            .map(|s| mib(total_pss_kib(&s.processes)))
            .collect();
        let after = median(settled.iter().map(|s| s.after.as_millis() as u64).collect());
        println!(
            "- {}: anonymous (heaps, JS, GL buffers) {}; private dirty {}; threads {}; PSS totals per run {} MiB; still from {:.1} s after start (median)",
            subject.name,
            per_kind(1, |v| format!("{} MiB", mib(v))),
            per_kind(2, |v| format!("{} MiB", mib(v))),
            per_kind(3, |v| v.to_string()),
            runs_total.join(", "),
            after as f64 / 1000.0
        );
    }
    let others = samples
        .iter()
        .flatten()
        .map(|s| s.others)
        .max()
        .unwrap_or(0);
    if others > 0 {
        println!("- **the machine did not go quiet: {others} other process(es) mapping WebKit or Mesa ran beside a measurement and shared its pages, so the figures above are too low**");
    }
    totals
}
