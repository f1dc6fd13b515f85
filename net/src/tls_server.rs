//! HTTPS listeners: a rustls acceptor whose certificate is reloaded from its
//! files on SIGHUP or when they change, without dropping connections (a
//! handshake takes whatever certificate is current; open sessions keep theirs).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// How often the files' modification times are checked: a renewed
/// certificate (certbot, cert-manager) is served within this time.
pub const RELOAD_POLL: Duration = Duration::from_secs(1);

/// How long a client gets to finish its handshake: a connection that opens
/// and says nothing must not hold a task for long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Both files or neither: `what` names the variables in the error
    /// (`DIDROUTE_TLS_CERT and DIDROUTE_TLS_KEY`).
    pub fn from_pair(cert: Option<PathBuf>, key: Option<PathBuf>, what: &str) -> anyhow::Result<Option<TlsFiles>> {
        match (cert, key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
            _ => anyhow::bail!("set both {what}, or neither for plain http"),
        }
    }
}

/// A TLS listener's configuration: the acceptor to wrap accepted sockets
/// with, and the reloadable certificate behind it.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    cert: Arc<Reloading>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").field("files", &self.cert.files).finish()
    }
}

impl ServerTls {
    /// Loads the files (an error names the file and what is wrong with it)
    /// and builds the acceptor. HTTP/1.1 only, as both servers speak.
    pub fn load(files: &TlsFiles) -> anyhow::Result<ServerTls> {
        let cert = Arc::new(Reloading::load(files.clone())?);
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("tls protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls { acceptor: TlsAcceptor::from(Arc::new(config)), cert })
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Re-reads the files now; on error the current certificate stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        self.cert.reload()
    }

    /// Reloads on SIGHUP and whenever a file's modification time changes,
    /// until the returned task is aborted (or the process ends).
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let cert = Arc::clone(&self.cert);
        tokio::spawn(async move {
            let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(s) => Some(s),
                Err(error) => {
                    tracing::warn!(%error, "no SIGHUP handler: certificates reload on file change only");
                    None
                }
            };
            let mut seen = cert.files.modified();
            let mut tick = tokio::time::interval(RELOAD_POLL);
            loop {
                let why = tokio::select! {
                    _ = tick.tick() => {
                        let now = cert.files.modified();
                        if now == seen { continue }
                        seen = now;
                        "files changed"
                    }
                    Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => "sighup",
                };
                match cert.reload() {
                    Ok(()) => tracing::info!(cert = %cert.files.cert.display(), why, "tls certificate reloaded"),
                    Err(error) => tracing::warn!(
                        error = format!("{error:#}"),
                        why,
                        "tls certificate not reloaded; the previous one stays"
                    ),
                }
            }
        })
    }
}

impl TlsFiles {
    fn modified(&self) -> (Option<SystemTime>, Option<SystemTime>) {
        let at = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        (at(&self.cert), at(&self.key))
    }
}

/// The certificate handshakes are answered with, swapped on reload.
struct Reloading {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for Reloading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloading").field("files", &self.files).finish()
    }
}

impl Reloading {
    fn load(files: TlsFiles) -> anyhow::Result<Reloading> {
        let key = certified_key(&files)?;
        Ok(Reloading { files, current: RwLock::new(Arc::new(key)) })
    }

    fn reload(&self) -> anyhow::Result<()> {
        let key = certified_key(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner())))
    }
}

fn certified_key(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("cannot read the tls certificate {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("the tls certificate {} is not valid pem", files.cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "the tls certificate {} holds no certificate", files.cert.display());
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a private key from {}", files.key.display()))?;
    let signer = provider()
        .key_provider
        .load_private_key(key)
        .with_context(|| format!("the private key {} is of an unsupported kind", files.key.display()))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().with_context(|| {
        format!("the private key {} does not match the certificate {}", files.key.display(), files.cert.display())
    })?;
    Ok(certified)
}

/// rustls' `ring` provider, named explicitly so that no process-wide
/// default has to be installed. rustls 0.23.48 deprecates it for lacking
/// post-quantum key exchange; the alternative, aws-lc-rs, is a large C and
/// assembly build that sqlx and reqwest would then need too. Revisit when
/// ring gains ML-KEM or the build cost is accepted.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
