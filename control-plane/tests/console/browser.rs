//! Headless Chromium through chromedriver: the driver is a child process on
//! a free loopback port, killed when the [`Browser`] drops. Debian's
//! `chromium` and `chromium-driver` packages (scripts/test installs them).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// One browser test at a time: two Chromiums on a small machine only slow
/// each other down.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

/// The chromedriver process, in a process group of its own with the
/// Chromium it starts: the whole group is killed on drop, so a failed test
/// leaves no browser behind.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-KILL").arg("--").arg(format!("-{}", self.0.id())).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a phone-or-laptop
    /// sized window (`width` × 900).
    pub async fn start(width: u32) -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: apt-get install -y chromium chromium-driver (scripts/test does)"
            );
        }
        let port = free_port();
        let driver = Driver(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},900"), "--lang=en-US"]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Browser { client, _driver: driver },
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver at {url} did not start a session: {last:?}");
    }
}

/// `target/console-screenshots/`, created.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Every visible form control without a label: `<label for>` or
/// `aria-label`. Empty on every page.
pub async fn unlabelled(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            r#"return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                .filter(e => !((e.getAttribute('aria-label') || '').trim()
                    || (e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]'))))
                .map(e => e.outerHTML);"#,
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// Actions the keyboard cannot reach: click handlers on non-controls, or
/// buttons and links without a name.
pub async fn unreachable_actions(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            r#"return Array.from(document.querySelectorAll('[onclick], button, a'))
                .filter(e => e.hasAttribute('onclick') || e.tabIndex < 0
                    || !((e.textContent || '').trim() || e.getAttribute('aria-label')))
                .map(e => e.outerHTML);"#,
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// The page's labels and keyboard reach checked, and its screenshot taken.
pub async fn check_page(c: &Client, name: &str) {
    let url = c.current_url().await.unwrap();
    // a problem on the page is what its screenshot is for
    c.execute("const p = document.querySelector('.problem'); if (p) p.scrollIntoView({block: 'center'});", vec![])
        .await
        .unwrap();
    assert_eq!(unlabelled(c).await, Vec::<String>::new(), "inputs without a label on {url}");
    assert_eq!(unreachable_actions(c).await, Vec::<String>::new(), "actions out of keyboard reach on {url}");
    screenshot(c, name).await;
}

/// The text of the first element `css` finds, waiting (bounded) for it to
/// appear: a click that submits a form returns before the next page is in.
pub async fn text(c: &Client, css: &str) -> String {
    let deadline = tokio::time::Instant::now() + didroute_test_support::PATIENCE;
    loop {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.text().await {
                Ok(t) => return t,
                // the page went on between finding and reading
                Err(_) if tokio::time::Instant::now() < deadline => {}
                Err(e) => panic!("{css}: {e}"),
            },
            Err(e) if tokio::time::Instant::now() >= deadline => panic!("{css}: {e}"),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
}

/// The page's path and query.
pub async fn path(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    format!("{}{}", u.path(), u.query().map(|q| format!("?{q}")).unwrap_or_default())
}

pub async fn source(c: &Client) -> String {
    c.source().await.unwrap()
}

pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}
