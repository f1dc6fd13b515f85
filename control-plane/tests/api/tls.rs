//! HTTPS on the control plane and TLS to PostgreSQL, black box over real
//! TCP, with certificates of the test's own CAs (the `openssl` command).

use std::path::Path;
use std::time::{Duration, SystemTime};

use didroute_control_plane::config::Settings;
use didroute_control_plane::db::embedded::EmbeddedPg;
use didroute_net::ServerTls;
use reqwest::StatusCode;

use crate::helpers::{eventually, settings, spawn_app_with, TestCa};

const NAMES: &str = "DNS:localhost,IP:127.0.0.1";

/// `from`'s certificate and key copied over `to`'s, as a renewal tool would.
fn renew(from: &didroute_net::TlsFiles, to: &didroute_net::TlsFiles) {
    std::fs::copy(&from.key, &to.key).unwrap();
    std::fs::copy(&from.cert, &to.cert).unwrap();
}

async fn healthz(client: &reqwest::Client, base: &str) -> Result<StatusCode, reqwest::Error> {
    client.get(format!("{base}/healthz")).send().await.map(|r| r.status())
}

async fn https_app(files: &didroute_net::TlsFiles) -> crate::helpers::TestApp {
    let tls = ServerTls::load(files).expect("load the certificate");
    spawn_app_with(Settings { tls: Some(tls), ..settings() }).await
}

#[tokio::test]
async fn https_serves_with_the_configured_certificate_and_refuses_plain_http() {
    let (ca, other) = (TestCa::new("didroute test ca"), TestCa::new("someone else"));
    let dir = tempfile::tempdir().unwrap();
    let app = https_app(&ca.issue("server", NAMES, dir.path())).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    assert_eq!(healthz(&ca.client(), &app.base).await.unwrap(), StatusCode::OK);
    // an authenticated route works the same over TLS
    let tenants = ca.client().get(format!("{}/v1/tenants", app.base)).bearer_auth(crate::helpers::OPERATOR_TOKEN);
    assert_eq!(tenants.send().await.unwrap().status(), StatusCode::OK);
    let untrusted = healthz(&other.client(), &app.base).await.unwrap_err();
    assert!(format!("{untrusted:?}").contains("UnknownIssuer"), "{untrusted:?}");
    let plain = app.base.replacen("https://", "http://", 1);
    assert!(healthz(&reqwest::Client::new(), &plain).await.is_err(), "plain http on the https port");
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_dropping_open_connections() {
    let (old_ca, new_ca) = (TestCa::new("old ca"), TestCa::new("new ca"));
    let dir = tempfile::tempdir().unwrap();
    let live = old_ca.issue("server", NAMES, dir.path());
    let app = https_app(&live).await;
    let kept = old_ca.client();
    assert_eq!(healthz(&kept, &app.base).await.unwrap(), StatusCode::OK);
    assert!(healthz(&new_ca.client(), &app.base).await.is_err(), "not yet renewed");

    renew(&new_ca.issue("next", NAMES, dir.path()), &live);
    eventually("the renewed certificate served", || {
        let (client, base) = (new_ca.client(), app.base.clone());
        async move { healthz(&client, &base).await.is_ok() }
    })
    .await;
    // a new handshake gets the new certificate, which the old CA cannot
    // verify: so a request that still succeeds went over the connection
    // opened before the renewal
    assert!(healthz(&old_ca.client(), &app.base).await.is_err(), "new connections get the new certificate");
    assert_eq!(healthz(&kept, &app.base).await.unwrap(), StatusCode::OK, "the open connection was kept");
}

#[tokio::test]
async fn sighup_reloads_a_certificate_whose_files_look_unchanged() {
    let (old_ca, new_ca) = (TestCa::new("old ca"), TestCa::new("new ca"));
    let dir = tempfile::tempdir().unwrap();
    let live = old_ca.issue("server", NAMES, dir.path());
    let app = https_app(&live).await;
    assert_eq!(healthz(&old_ca.client(), &app.base).await.unwrap(), StatusCode::OK);
    // new contents under the old modification times: only SIGHUP tells
    let times: Vec<SystemTime> =
        [&live.cert, &live.key].iter().map(|p| std::fs::metadata(p).unwrap().modified().unwrap()).collect();
    renew(&new_ca.issue("next", NAMES, dir.path()), &live);
    for (path, at) in [&live.cert, &live.key].iter().zip(times) {
        set_modified(path, at);
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(healthz(&new_ca.client(), &app.base).await.is_err(), "no reload without a signal or a change");
    let hup = std::process::Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
    assert!(hup.success());
    eventually("the certificate reloaded on SIGHUP", || {
        let (client, base) = (new_ca.client(), app.base.clone());
        async move { healthz(&client, &base).await.is_ok() }
    })
    .await;
}

#[tokio::test]
async fn a_bad_certificate_or_key_is_refused_at_start_naming_the_file() {
    let ca = TestCa::new("ca");
    let dir = tempfile::tempdir().unwrap();
    let one = ca.issue("one", NAMES, dir.path());
    let two = ca.issue("two", NAMES, dir.path());
    let mismatched = didroute_net::TlsFiles { cert: one.cert.clone(), key: two.key.clone() };
    let e = format!("{:#}", ServerTls::load(&mismatched).unwrap_err());
    assert!(e.contains("does not match") && e.contains("two.key"), "{e}");
    let missing = didroute_net::TlsFiles { cert: dir.path().join("none.pem"), key: one.key.clone() };
    let e = format!("{:#}", ServerTls::load(&missing).unwrap_err());
    assert!(e.contains("none.pem"), "{e}");
}

fn set_modified(path: &Path, at: SystemTime) {
    std::fs::File::options().write(true).open(path).unwrap().set_modified(at).unwrap();
}

/// A private cluster that only takes TLS connections, with a certificate
/// for `localhost` (not `127.0.0.1`) signed by `ca`.
async fn tls_only_postgres(ca: &TestCa, dir: &Path) -> EmbeddedPg {
    let pg_dir = dir.join("cluster");
    let pg = tokio::task::spawn_blocking(move || EmbeddedPg::start(&pg_dir)).await.unwrap().expect("private postgres");
    didroute_control_plane::db::embedded::wait_ready(&pg.admin_url()).await.unwrap();
    let files = ca.issue("server", "DNS:localhost", pg.data_dir());
    pg.own(&files.cert).unwrap();
    pg.own(&files.key).unwrap();
    let admin = sqlx::PgPool::connect(&pg.admin_url()).await.unwrap();
    for sql in [
        "ALTER SYSTEM SET ssl = on".to_owned(),
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", files.cert.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", files.key.display()),
    ] {
        sqlx::query(&sql).execute(&admin).await.unwrap();
    }
    let hba: String = sqlx::query_scalar("SHOW hba_file").fetch_one(&admin).await.unwrap();
    std::fs::write(
        &hba,
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n\
         hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n",
    )
    .unwrap();
    sqlx::query("SELECT pg_reload_conf()").execute(&admin).await.unwrap();
    admin.close().await;
    let port = pg.port();
    eventually("postgres takes tls", || async move {
        sqlx::PgPool::connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require")).await.is_ok()
    })
    .await;
    pg
}

async fn connect(url: &str) -> Result<bool, sqlx::Error> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    let ssl: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(&pool).await?;
    pool.close().await;
    Ok(ssl)
}

#[tokio::test]
async fn postgres_over_tls_verifies_the_ca_and_the_host_name() {
    let (ca, other) = (TestCa::new("db ca"), TestCa::new("not the db ca"));
    let dir = tempfile::tempdir().unwrap();
    let pg = tls_only_postgres(&ca, dir.path()).await;
    let port = pg.port();
    let url = |host: &str, mode: &str, root: &Path| {
        format!("postgres://postgres@{host}:{port}/postgres?sslmode={mode}&sslrootcert={}", root.display())
    };
    assert!(connect(&url("localhost", "verify-full", &ca.cert)).await.unwrap(), "the session is encrypted");
    // sqlx 0.8.6 with rustls checks the host name under verify-ca too
    // (launchbadge/sqlx#3793, a warning at start says so): the CA is checked
    assert!(connect(&url("localhost", "verify-ca", &ca.cert)).await.unwrap());
    let wrong_ca = connect(&url("localhost", "verify-ca", &other.cert)).await.unwrap_err().to_string();
    assert!(wrong_ca.contains("UnknownIssuer"), "{wrong_ca}");
    let wrong_ca = connect(&url("localhost", "verify-full", &other.cert)).await.unwrap_err().to_string();
    assert!(wrong_ca.contains("UnknownIssuer"), "{wrong_ca}");
    let wrong_host = connect(&url("127.0.0.1", "verify-full", &ca.cert)).await.unwrap_err().to_string();
    assert!(wrong_host.contains("not valid for name \"127.0.0.1\""), "{wrong_host}");
    let plain = connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable")).await;
    assert!(plain.is_err(), "the server takes tls connections only");
}

#[tokio::test]
async fn the_service_starts_over_verified_tls_and_refuses_a_wrong_ca_or_host_in_one_line() {
    let (ca, other) = (TestCa::new("db ca"), TestCa::new("not the db ca"));
    let dir = tempfile::tempdir().unwrap();
    let pg = tls_only_postgres(&ca, dir.path()).await;
    let port = pg.port();
    let migrate = move |host: &str, root: &Path| {
        let url =
            format!("postgres://postgres@{host}:{port}/postgres?sslmode=verify-full&sslrootcert={}", root.display());
        std::process::Command::new(env!("CARGO_BIN_EXE_didroute-control-plane"))
            .arg("migrate")
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let ok = tokio::task::spawn_blocking({
        let root = ca.cert.clone();
        move || migrate("localhost", &root)
    });
    let ok = ok.await.unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    for (host, root, cause) in
        [("localhost", &other.cert, "UnknownIssuer"), ("127.0.0.1", &ca.cert, "not valid for name")]
    {
        let out = migrate(host, root);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{host}: started");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].starts_with("error: cannot connect to PostgreSQL") && lines[0].contains(cause), "{stderr}");
        assert_eq!(lines[0].matches(cause).count(), 1, "the cause once: {stderr}");
    }
}

#[tokio::test]
async fn a_lookup_node_tails_an_https_control_plane_and_answers_over_https() {
    let ca = TestCa::new("deployment ca");
    let dir = tempfile::tempdir().unwrap();
    let mut app = https_app(&ca.issue("control-plane", NAMES, dir.path())).await;
    app.http = ca.client();
    let lookup = ca.issue("lookup", NAMES, dir.path());
    let mut config = didroute_lookup::Config::new(app.base.clone(), crate::helpers::OPERATOR_TOKEN);
    config.ca_file = Some(ca.cert.clone());
    (config.tls_cert, config.tls_key) = (Some(lookup.cert), Some(lookup.key));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node = didroute_lookup::Node::start(&config, listener).await.expect("node starts");
    crate::helpers::within("lookup node ready", node.wait_ready()).await;

    let tenant = app.tenant("Metro PSAP").await;
    app.import("+15550104000", "US").await;
    let seq = app.allocate_seq(&tenant, "+15550104000", "dispatch").await;
    let url = format!("https://{}/v1/routes/%2B15550104000?min_seq={seq}", node.local_addr());
    let answer = ca.client().get(&url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let route: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(route["tenant_id"], tenant.id.to_string(), "{route}");
    let plain = url.replacen("https://", "http://", 1);
    assert!(reqwest::get(&plain).await.is_err(), "plain http on the https port");

    // without the CA the feed client refuses the control plane's certificate
    let mut untrusting = didroute_lookup::Config::new(app.base.clone(), crate::helpers::OPERATOR_TOKEN);
    untrusting.feed_wait_ms = 100;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let blind = didroute_lookup::Node::start(&untrusting, listener).await.expect("node starts");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = reqwest::get(format!("http://{}/readyz", blind.local_addr())).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "a node that cannot verify its feed is not ready");
}
