//! A private PostgreSQL cluster started from the installed server binaries,
//! for `standalone` and the test suite when no `DATABASE_URL` is given.
//!
//! PostgreSQL refuses to run as root, so when this process is root the
//! cluster's files belong to, and its programs run as, the `postgres` user.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

/// A running private cluster; stopped on [`EmbeddedPg::stop`] or drop.
#[derive(Debug)]
pub struct EmbeddedPg {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    as_postgres: bool,
    stopped: bool,
}

impl EmbeddedPg {
    /// Initialises `dir` if it holds no cluster yet, then starts the server on
    /// a free loopback port and waits until it accepts connections.
    pub fn start(dir: &Path) -> anyhow::Result<EmbeddedPg> {
        let bin_dir = find_bin_dir()?;
        let as_postgres = is_root();
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let data_dir = dir.join("pg");
        let pg = EmbeddedPg { data_dir, bin_dir, port: free_port()?, as_postgres, stopped: false };
        if as_postgres {
            // the postgres user must be able to reach the directory
            run(Command::new("chown").arg("postgres:").arg(&dir))?;
        }
        if !pg.data_dir.join("PG_VERSION").exists() {
            let mut initdb = pg.command("initdb");
            initdb.arg("-D").arg(&pg.data_dir).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
            run(&mut initdb).context("initdb failed")?;
        }
        // a server left running by a crashed earlier run holds the directory
        let mut status = pg.command("pg_ctl");
        status.arg("-D").arg(&pg.data_dir).arg("status");
        if status.output().map(|o| o.status.success()).unwrap_or(false) {
            tracing::warn!(data_dir = %pg.data_dir.display(), "stopping a leftover private postgres");
            pg.stop_server()?;
        }
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on",
            pg.port,
            pg.data_dir.display()
        );
        let mut start = pg.command("pg_ctl");
        start
            .arg("-D")
            .arg(&pg.data_dir)
            .args(["-w", "-t", "60", "-o", &opts, "-l"])
            .arg(pg.data_dir.join("server.log"))
            .arg("start");
        run(&mut start).with_context(|| {
            format!("private postgres did not start; see {}", pg.data_dir.join("server.log").display())
        })?;
        tracing::info!(port = pg.port, data_dir = %pg.data_dir.display(), "private postgres started");
        Ok(pg)
    }

    /// Superuser URL of the `postgres` database.
    pub fn admin_url(&self) -> String {
        self.url("postgres")
    }

    /// Superuser URL of `database`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{}", self.port, database)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Gives `path` to the server's user, readable by it alone (what
    /// PostgreSQL demands of `ssl_key_file`).
    pub fn own(&self, path: &Path) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if self.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(path))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(())
    }

    /// Stops the server (fast shutdown: open sessions are rolled back).
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stopped = true;
        self.stop_server()
    }

    fn stop_server(&self) -> anyhow::Result<()> {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(&self.data_dir).args(["-m", "fast", "-w", "stop"]);
        run(&mut stop)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for EmbeddedPg {
    fn drop(&mut self) {
        if !self.stopped {
            if let Err(e) = self.stop_server() {
                tracing::warn!(error = %e, "could not stop private postgres");
            }
        }
    }
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{:?} exited with {}: {}{}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `DIDROUTE_PG_BIN`, else `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`, else wherever `initdb` is on PATH.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("DIDROUTE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    bail!("no PostgreSQL server binaries found (initdb, pg_ctl): install postgresql, set DIDROUTE_PG_BIN, or set DATABASE_URL")
}

/// Waits until `url` accepts connections (the server may still be starting).
pub async fn wait_ready(url: &str) -> anyhow::Result<()> {
    let mut last = None;
    for _ in 0..100 {
        match sqlx::PgPool::connect(url).await {
            Ok(p) => {
                p.close().await;
                return Ok(());
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.map(anyhow::Error::from).unwrap_or_else(|| anyhow::anyhow!("postgres not ready")))
}
