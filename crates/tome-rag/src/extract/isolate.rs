//! Hostile files are read in a child process that can be stopped. The container formats (PDF,
//! DOCX, PPTX, XLSX) go through parsers of compressed, nested structures: a decompression
//! bomb or a parser stuck in a loop must cost one child, never the server's memory or a
//! blocking thread that runs on after its time is up. The child is this same binary
//! (`tome extract-file`, hidden), started with an empty environment (no secrets), the file on
//! its stdin; it caps its own memory (`RLIMIT_DATA`) and CPU time (`RLIMIT_CPU`), then
//! executes itself again under those limits (the allocator reserves its arenas at the first
//! allocation, before any code of ours runs, and a limit set later would not cover them),
//! reads the file and answers one JSON line on stdout. The parent kills it when its time is
//! up.
//! Text formats are read in-process: their parsers do not inflate anything.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ExtractError, Limits, Section};
use crate::detect::FileKind;

/// The hidden subcommand of the `tome` binary that reads one file (see `child_main`).
pub const SUBCOMMAND: &str = "extract-file";

/// Where extraction runs.
#[derive(Clone, Debug, Default)]
pub enum Extractor {
    /// On a blocking thread of this process (tests, and tools without the `tome` binary).
    /// The time limit stops waiting for it, not the thread.
    #[default]
    InProcess,
    /// Container formats in a child process (`ChildExtractor`), text formats in-process.
    Child(ChildExtractor),
}

/// How to start the child that reads a file.
#[derive(Clone, Debug)]
pub struct ChildExtractor {
    /// The program, and the arguments before `SUBCOMMAND`'s own (none for `tome`).
    pub program: PathBuf,
    pub leading_args: Vec<OsString>,
    /// Most bytes of memory the child may map for its data.
    pub memory_bytes: u64,
}

impl ChildExtractor {
    /// `tome extract-file` of the running binary, with `memory_mib` of memory.
    pub fn this_binary(memory_mib: u64) -> std::io::Result<Self> {
        Ok(Self {
            program: std::env::current_exe()?,
            leading_args: Vec::new(),
            memory_bytes: memory_mib.saturating_mul(1024 * 1024),
        })
    }
}

/// Why extraction stopped without sections.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The file's fault, as the sentence stored on the document.
    File(String),
    /// This server's (the child could not start…): worth another try.
    Server(String),
}

impl Extractor {
    /// The sections of `bytes`, a file of `kind`, read within `time_limit`.
    pub async fn sections(
        &self,
        kind: FileKind,
        bytes: bytes::Bytes,
        limits: Limits,
        time_limit: Duration,
    ) -> Result<Vec<Section>, Stopped> {
        match self {
            Self::Child(child) if is_container(kind) => child.sections(kind, bytes, limits, time_limit).await,
            _ => in_process(kind, bytes, limits, time_limit).await,
        }
    }
}

/// The formats whose parsers inflate or walk nested structures.
fn is_container(kind: FileKind) -> bool {
    matches!(kind, FileKind::Pdf | FileKind::Docx | FileKind::Pptx | FileKind::Xlsx)
}

fn too_slow(time_limit: Duration) -> Stopped {
    Stopped::File(format!(
        "Reading the file took longer than {} seconds, so Tome gave up on it.",
        time_limit.as_secs().max(1)
    ))
}

async fn in_process(
    kind: FileKind,
    bytes: bytes::Bytes,
    limits: Limits,
    time_limit: Duration,
) -> Result<Vec<Section>, Stopped> {
    let work = tokio::task::spawn_blocking(move || super::extract(kind, &bytes, limits));
    match tokio::time::timeout(time_limit, work).await {
        Err(_) => Err(too_slow(time_limit)),
        Ok(Err(join)) => Err(Stopped::Server(format!("extraction stopped: {join}"))),
        Ok(Ok(outcome)) => outcome.map_err(|error| Stopped::File(error.to_string())),
    }
}

/// What the child prints: the sections, or the sentence of why there are none.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Sections(Vec<Section>),
    Error(String),
}

/// Most bytes of the child's error output kept, to tell an allocation failure from a crash.
const STDERR_KEPT: u64 = 4096;

impl ChildExtractor {
    async fn sections(
        &self,
        kind: FileKind,
        bytes: bytes::Bytes,
        limits: Limits,
        time_limit: Duration,
    ) -> Result<Vec<Section>, Stopped> {
        let cpu_secs = time_limit.as_secs().max(1);
        let mut child = tokio::process::Command::new(&self.program)
            .args(&self.leading_args)
            .arg(SUBCOMMAND)
            .args(["--kind", kind.mime_type()])
            .args(["--max-inflated-bytes", &limits.max_inflated_bytes.to_string()])
            .args(["--max-text-bytes", &limits.max_text_bytes.to_string()])
            .args(["--memory-bytes", &self.memory_bytes.to_string()])
            .args(["--cpu-secs", &cpu_secs.to_string()])
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| Stopped::Server(format!("cannot start {}: {error}", self.program.display())))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Stopped::Server("the extraction child has no pipes".into()));
        };
        let feed = async move {
            // A child that stops reading (it died, or has all it needs) is not an error here:
            // its exit status says what happened.
            let _ = stdin.write_all(&bytes).await;
            drop(stdin);
        };
        // JSON escapes can make the text up to six times longer; locations add a little.
        let most = u64::try_from(limits.max_text_bytes).unwrap_or(u64::MAX).saturating_mul(6).saturating_add(1 << 20);
        let read_out = async move {
            let mut out = Vec::new();
            let read = stdout.take(most.saturating_add(1)).read_to_end(&mut out).await;
            read.map(|_| out)
        };
        let read_err = async move {
            let mut err = Vec::new();
            let _ = stderr.take(STDERR_KEPT).read_to_end(&mut err).await;
            err
        };
        let run = async { tokio::join!(feed, read_out, read_err, child.wait()) };
        let (_, out, err, status) = match tokio::time::timeout(time_limit, run).await {
            Ok(done) => done,
            Err(_) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(too_slow(time_limit));
            }
        };
        let status = status.map_err(|error| Stopped::Server(format!("the extraction child was lost: {error}")))?;
        let out = out.map_err(|error| Stopped::Server(format!("cannot read the extraction child: {error}")))?;
        if !status.success() {
            return Err(self.died(kind, status, &err, time_limit));
        }
        if u64::try_from(out.len()).unwrap_or(u64::MAX) > most {
            return Err(Stopped::File(ExtractError::corrupt(kind, "it holds more text than Tome keeps").to_string()));
        }
        match serde_json::from_slice::<Reply>(&out) {
            Ok(Reply::Sections(sections)) => Ok(sections),
            Ok(Reply::Error(sentence)) => Err(Stopped::File(sentence)),
            Err(error) => Err(Stopped::Server(format!("the extraction child answered nonsense: {error}"))),
        }
    }

    /// The sentence for a child that ended without answering.
    fn died(&self, kind: FileKind, status: std::process::ExitStatus, stderr: &[u8], time_limit: Duration) -> Stopped {
        use std::os::unix::process::ExitStatusExt;
        let stderr = String::from_utf8_lossy(stderr);
        // RLIMIT_CPU sends SIGXCPU at the soft limit.
        const SIGXCPU: i32 = 24;
        if status.signal() == Some(SIGXCPU) {
            return too_slow(time_limit);
        }
        if stderr.contains("memory allocation of") {
            return Stopped::File(format!(
                "Reading the file needed more than {} MiB of memory, so Tome gave up on it (it may be a decompression bomb).",
                self.memory_bytes / (1024 * 1024)
            ));
        }
        if status.code() == Some(CHILD_USAGE) {
            return Stopped::Server(format!("the extraction child refused its arguments: {}", stderr.trim()));
        }
        tracing::warn!(%status, stderr = %stderr.trim(), "the extraction child crashed");
        Stopped::File(ExtractError::corrupt(kind, "the reader crashed on it").to_string())
    }
}

/// Exit status of a child that could not set itself up (arguments, limits).
const CHILD_USAGE: i32 = 3;

/// What `tome extract-file` was asked.
#[derive(Clone, Debug)]
pub struct ChildRequest {
    pub kind: String,
    pub max_inflated_bytes: u64,
    pub max_text_bytes: usize,
    pub memory_bytes: u64,
    pub cpu_secs: u64,
    /// Set on the second start, which runs under the limits the first one set.
    pub limited: bool,
}

/// The flag that marks the second start of the child.
pub const LIMITED_FLAG: &str = "--limited";

/// The child's whole life: limits itself, reads the file from stdin, prints one `Reply`.
/// Returns the process's exit status. Runs before any thread or runtime is started.
pub fn child_main(request: &ChildRequest) -> i32 {
    use std::io::{Read, Write};
    let Some(kind) = FileKind::from_mime_type(&request.kind) else {
        eprintln!("unknown kind {}", request.kind);
        return CHILD_USAGE;
    };
    if !request.limited {
        let limited = rlimit::Resource::DATA
            .set(request.memory_bytes, request.memory_bytes)
            .and_then(|()| rlimit::Resource::CPU.set(request.cpu_secs, request.cpu_secs.saturating_add(1)));
        if let Err(error) = limited {
            eprintln!("cannot limit the extraction child: {error}");
            return CHILD_USAGE;
        }
        // Replaces this process (same pid, pipes and limits); returns only on failure.
        use std::os::unix::process::CommandExt;
        let error = std::env::current_exe()
            .map(|exe| std::process::Command::new(exe).args(std::env::args_os().skip(1)).arg(LIMITED_FLAG).exec());
        eprintln!("cannot start the limited extraction child: {error:?}");
        return CHILD_USAGE;
    }
    let mut bytes = Vec::new();
    if let Err(error) = std::io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("cannot read the file: {error}");
        return CHILD_USAGE;
    }
    let limits = Limits { max_inflated_bytes: request.max_inflated_bytes, max_text_bytes: request.max_text_bytes };
    let reply = match super::extract(kind, &bytes, limits) {
        Ok(sections) => Reply::Sections(sections),
        Err(error) => Reply::Error(error.to_string()),
    };
    drop(bytes);
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &reply).map_err(std::io::Error::from).and_then(|()| out.flush());
    match written {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("cannot answer: {error}");
            CHILD_USAGE
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn shell(script: &str) -> Extractor {
        // `sh -c SCRIPT NAME ARGS…`: the subcommand and its arguments land in $0, $1….
        Extractor::Child(ChildExtractor {
            program: "/bin/sh".into(),
            leading_args: vec!["-c".into(), script.into()],
            memory_bytes: 64 * 1024 * 1024,
        })
    }

    fn pid_alive(pid: &str) -> bool {
        std::path::Path::new("/proc").join(pid).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat.contains(") Z "))
    }

    #[tokio::test]
    async fn a_child_past_its_time_is_killed_and_the_file_blamed() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > {}; exec sleep 30", pid_file.display());
        let started = std::time::Instant::now();
        let outcome = shell(&script)
            .sections(FileKind::Pdf, bytes::Bytes::from_static(b"%PDF-"), Limits::default(), Duration::from_secs(1))
            .await;
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert_eq!(outcome, Err(too_slow(Duration::from_secs(1))));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        assert!(!pid_alive(pid.trim()), "the child {pid} still runs");
    }

    #[tokio::test]
    async fn the_childs_answer_and_its_failures_are_told_apart() {
        let pdf = || bytes::Bytes::from_static(b"%PDF-");
        let run = |script: &str| {
            let extractor = shell(script);
            async move { extractor.sections(FileKind::Pdf, pdf(), Limits::default(), Duration::from_secs(20)).await }
        };
        let answer = r#"{"sections":[{"text":"Hello","location":{"page":2}}]}"#;
        let sections = run(&format!("cat > /dev/null; echo '{answer}'")).await.unwrap();
        assert_eq!(sections[0].text, "Hello");
        assert_eq!(sections[0].location.page, Some(2));
        let refused = run(r#"cat > /dev/null; echo '{"error":"No text was found in the file."}'"#).await;
        assert_eq!(refused, Err(Stopped::File("No text was found in the file.".into())));
        let bomb = run("echo 'memory allocation of 1073741824 bytes failed' >&2; kill -ABRT $$").await;
        assert!(matches!(&bomb, Err(Stopped::File(s)) if s.contains("more than 64 MiB of memory")), "{bomb:?}");
        let crash = run("kill -SEGV $$").await;
        assert!(matches!(&crash, Err(Stopped::File(s)) if s.contains("the reader crashed")), "{crash:?}");
        let missing = Extractor::Child(ChildExtractor {
            program: "/nonexistent/tome".into(),
            leading_args: Vec::new(),
            memory_bytes: 1,
        });
        let outcome = missing.sections(FileKind::Pdf, pdf(), Limits::default(), Duration::from_secs(5)).await;
        assert!(matches!(outcome, Err(Stopped::Server(_))), "{outcome:?}");
        // Text formats never start a child.
        let text = missing.sections(
            FileKind::Text,
            bytes::Bytes::from_static(b"plain"),
            Limits::default(),
            Duration::from_secs(5),
        );
        assert_eq!(text.await.unwrap()[0].text, "plain");
    }
}
