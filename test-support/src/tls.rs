//! Certificates for TLS tests, made with the `openssl` command: a CA of the
//! test's own and leaf certificates it signs, for any names.

use std::path::{Path, PathBuf};
use std::process::Command;

use didroute_net::TlsFiles;

/// A certificate authority in a temporary directory.
pub struct TestCa {
    dir: tempfile::TempDir,
    /// The CA certificate (PEM): what a client is told to trust.
    pub cert: PathBuf,
    key: PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        // the arguments are split on whitespace
        let name = name.replace(char::is_whitespace, "-");
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = (dir.path().join("ca.pem"), dir.path().join("ca.key"));
        openssl(&format!(
            "req -x509 {EC_KEY} -days 2 -subj /CN={name} -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign -keyout {} -out {}",
            s(&key),
            s(&cert)
        ));
        TestCa { dir, cert, key }
    }

    /// A server certificate for `names` (`DNS:localhost,IP:127.0.0.1`),
    /// written as `<stem>.pem` and `<stem>.key` in `out`.
    pub fn issue(&self, stem: &str, names: &str, out: &Path) -> TlsFiles {
        let (cert, key) = (out.join(format!("{stem}.pem")), out.join(format!("{stem}.key")));
        let csr = self.dir.path().join(format!("{stem}.csr"));
        let ext = self.dir.path().join(format!("{stem}.ext"));
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={names}\nbasicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .unwrap();
        openssl(&format!("req -new {EC_KEY} -subj /CN={stem} -keyout {} -out {}", s(&key), s(&csr)));
        openssl(&format!(
            "x509 -req -in {} -CA {} -CAkey {} -CAcreateserial -days 2 -extfile {} -out {}",
            s(&csr),
            s(&self.cert),
            s(&self.key),
            s(&ext),
            s(&cert)
        ));
        TlsFiles { cert, key }
    }

    /// An HTTP client that trusts this CA.
    pub fn client(&self) -> reqwest::Client {
        didroute_net::tls_client::with_ca_file(reqwest::Client::builder(), Some(&self.cert))
            .expect("ca file")
            .build()
            .expect("client")
    }
}

/// A new P-256 key, unencrypted.
const EC_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs `openssl` with `args` split on whitespace (the paths are
/// temporary directories, without spaces).
fn openssl(args: &str) {
    let out = Command::new("openssl").args(args.split_whitespace()).output().expect("the openssl command is installed");
    assert!(out.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&out.stderr));
}
