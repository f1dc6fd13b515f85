//! `didroute-carrier-sim` as a child process: started on a port it picks,
//! driven through its admin endpoint, killed on drop. Shared by the control
//! plane's carrier tests and didctl's.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use didroute_control_plane::carriers::{connect, AdapterSettings, Carrier, CarrierConfig, CarrierKind};
use didroute_control_plane::config::Settings;
use serde_json::Value;

pub const TOKEN: &str = "sim-test-token";
pub const STOCK: &str = "US:555=300,US:800=20,GB:20=50";

/// The simulator binary: `DIDROUTE_CARRIER_SIM_BIN`, else next to this test's
/// executable (target/<profile>/).
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("DIDROUTE_CARRIER_SIM_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let bin = profile_dir.join(format!("didroute-carrier-sim{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p didroute-carrier-sim` first (or set DIDROUTE_CARRIER_SIM_BIN)",
        bin.display()
    );
    bin
}

pub struct CarrierSim {
    child: Child,
    pub addr: SocketAddr,
    http: reqwest::Client,
}

impl CarrierSim {
    pub fn start() -> Self {
        Self::start_at("127.0.0.1:0")
    }

    /// Starts the simulator on `listen` and waits for its `listening on` line.
    pub fn start_at(listen: &str) -> Self {
        Self::start_with(listen, &[])
    }

    /// [`Sim::start_at`] with more arguments (`--state-file PATH`).
    pub fn start_with(listen: &str, more: &[&str]) -> Self {
        let mut child = Command::new(binary())
            .args(["--listen", listen, "--token", TOKEN, "--stock", STOCK, "--order-delay-ms", "200"])
            .args(more)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start didroute-carrier-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("read stdout");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the simulator: {line:?}"))
            .parse()
            .expect("socket address");
        Self { child, addr, http: reqwest::Client::new() }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn admin(&self, path: &str, body: Value) -> Value {
        let res = self.http.post(format!("{}/_sim/{path}", self.url())).json(&body).send().await.expect("admin call");
        assert!(res.status().is_success(), "admin {path}: {}", res.status());
        res.json().await.expect("admin json")
    }

    pub async fn state(&self) -> Value {
        self.http.get(format!("{}/_sim/state", self.url())).send().await.unwrap().json().await.unwrap()
    }

    /// How many `/v2` requests the simulator has seen.
    pub async fn requests(&self) -> u64 {
        self.state().await["counters"]["requests"].as_u64().unwrap()
    }

    /// The control plane's settings with this simulator as carrier `sim`.
    pub fn settings(&self) -> Settings {
        let carriers = vec![CarrierConfig {
            name: "sim".into(),
            kind: CarrierKind::Telnyx,
            base_url: self.url(),
            token: TOKEN.into(),
        }];
        Settings { carriers, ..crate::settings() }
    }

    pub fn carrier(&self, settings: AdapterSettings) -> Arc<dyn Carrier> {
        self.carrier_with_token(settings, TOKEN)
    }

    pub fn carrier_with_token(&self, settings: AdapterSettings, token: &str) -> Arc<dyn Carrier> {
        let config =
            CarrierConfig { name: "sim".into(), kind: CarrierKind::Telnyx, base_url: self.url(), token: token.into() };
        connect(&config, settings).expect("adapter")
    }
}

impl Drop for CarrierSim {
    fn drop(&mut self) {
        self.kill();
    }
}
