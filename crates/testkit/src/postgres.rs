//! A real PostgreSQL server for a test: a fresh cluster in a private temporary
//! directory, run as a non-root user on a loopback port, stopped and removed
//! when dropped.
//!
//! Without PostgreSQL's programs on the machine, [`TestPostgres::start`] says
//! loudly that the test is skipped and returns `None`; with
//! `PAYBRIDGE_REQUIRE_POSTGRES=1` (set by `cargo xtask test`, which installs
//! Debian's `postgresql` first) their absence is a failure instead.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable that turns a missing PostgreSQL into a failure.
pub const REQUIRE_POSTGRES: &str = "PAYBRIDGE_REQUIRE_POSTGRES";

/// A running PostgreSQL cluster, owned by the test.
#[derive(Debug)]
pub struct TestPostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_user: Option<&'static str>,
}

/// Where Debian puts PostgreSQL's server programs, newest version first.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists() && bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether a cluster syncs its commits to the disk.
#[derive(Clone, Copy)]
enum Durability {
    /// `fsync = off`: fast, for tests.
    Off,
    /// PostgreSQL's defaults.
    Defaults,
}

impl TestPostgres {
    /// Starts a cluster, or `None` (having said why on stderr) when
    /// PostgreSQL is not installed and not required.
    ///
    /// # Panics
    /// When PostgreSQL is required but missing, or fails to start: a test
    /// that needs it cannot go on.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_as(test, Durability::Off)
    }

    /// Starts a cluster with PostgreSQL's own durability defaults (`fsync`
    /// and `synchronous_commit` on), as a merchant runs it: for benchmarks.
    /// Tests use [`TestPostgres::start`], which turns `fsync` off for speed.
    ///
    /// # Panics
    /// As [`TestPostgres::start`].
    pub fn start_durable(test: &str) -> Option<Self> {
        Self::start_as(test, Durability::Defaults)
    }

    fn start_as(test: &str, durability: Durability) -> Option<Self> {
        let Some(bin) = server_bin() else {
            assert!(
                std::env::var_os(REQUIRE_POSTGRES).is_none(),
                "{test}: PostgreSQL is required ({REQUIRE_POSTGRES} is set) but /usr/lib/postgresql/*/bin has no server"
            );
            eprintln!(
                "\n*** SKIPPED {test}: PostgreSQL is not installed; `cargo xtask test` installs it and runs this test ***\n"
            );
            return None;
        };
        match Self::start_with(&bin, durability) {
            Ok(server) => Some(server),
            Err(message) => panic!("{test}: PostgreSQL did not start: {message}"),
        }
    }

    fn start_with(bin: &Path, durability: Durability) -> Result<Self, String> {
        let dir = crate::temp_dir("paybridge-pg");
        // PostgreSQL refuses to run as root: run it as `nobody`, who owns the directory.
        let as_user = is_root().then_some("nobody");
        if let Some(user) = as_user {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), &dir.display().to_string()])
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("chown of {} failed", dir.display()));
            }
        }
        let port = free_port().map_err(|e| e.to_string())?;
        let server = Self {
            dir,
            bin: bin.to_owned(),
            port,
            as_user,
        };
        let data = server.dir.join("data");
        server.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "paybridge",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let fsync = match durability {
            Durability::Off => " -c fsync=off",
            Durability::Defaults => "",
        };
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1{fsync} -c max_connections=200",
            server.dir.display()
        );
        server.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &server.dir.join("log").display().to_string(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        )?;
        Ok(server)
    }

    /// Runs one of PostgreSQL's programs as the cluster's user.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            Err(format!(
                "{program} failed: {}{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://paybridge@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The URL of a SQLite ledger file in a fresh temporary directory.
pub fn sqlite_url() -> String {
    let dir = crate::temp_dir("paybridge-sqlite");
    format!("sqlite://{}", dir.join("ledger.db").display())
}

/// Defines module `$name` whose two tests run the async `$scenario(url: &str)`:
/// `sqlite` on a file in a temporary directory, `postgres` on a server
/// started for the test (see [`TestPostgres::start`] for when it is skipped).
#[macro_export]
macro_rules! on_every_database {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(&$crate::postgres::sqlite_url()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let test = concat!(stringify!($name), "::postgres");
                if let Some(server) = $crate::postgres::TestPostgres::start(test) {
                    super::$scenario(&server.url()).await;
                }
            }
        }
    };
}
