//! `standalone --with-carrier-sim`: a new user's one-machine setup starts the
//! simulator beside itself and lists it as carrier `sim`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "standalone-sim-operator-token";

#[test]
fn standalone_starts_the_carrier_simulator_and_lists_it() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_didroute-control-plane"))
        .args(["standalone", "--with-carrier-sim"])
        .env("DIDROUTE_DATA_DIR", data.path())
        .env("DIDROUTE_LISTEN", "127.0.0.1:0")
        .env("DIDROUTE_LOOKUP_LISTEN", "127.0.0.1:0")
        .env("DIDROUTE_OPERATOR_TOKEN", TOKEN)
        .env_remove("DATABASE_URL")
        .env_remove("DIDROUTE_KAFKA_BROKERS")
        .env_remove("DIDROUTE_CARRIERS")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start standalone");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut control_plane, mut sim) = (None, None);
    while control_plane.is_none() || sim.is_none() {
        let line = lines.next().expect("standalone printed its addresses").unwrap();
        if let Some(url) = line.trim().strip_prefix("control plane:") {
            control_plane = Some(url.trim().to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("carrier sim:") {
            sim = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let (control_plane, sim) = (control_plane.unwrap(), sim.unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listed: serde_json::Value = rt.block_on(async {
        let http = reqwest::Client::new();
        let res = http.get(format!("{control_plane}/v1/carriers")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    });
    assert_eq!(listed["carriers"][0]["name"], "sim", "{listed}");
    assert_eq!(listed["carriers"][0]["base_url"], sim.as_str(), "{listed}");
    assert_eq!(listed["carriers"][0]["healthy"], true, "{listed}");
    // SIGTERM: standalone stops its database and the simulator with it
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "standalone did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}
