//! HTTPS clients (the lookup node's feed client, didctl, carrier adapters):
//! the public web roots plus, with `DIDROUTE_CA_FILE`, an operator's own CA.

use std::path::Path;

use anyhow::Context;

/// The variable naming a PEM file of extra CA certificates to trust.
pub const CA_FILE_VAR: &str = "DIDROUTE_CA_FILE";

/// `builder` trusting the certificates in `ca_file` beside the built-in roots.
pub fn with_ca_file(builder: reqwest::ClientBuilder, ca_file: Option<&Path>) -> anyhow::Result<reqwest::ClientBuilder> {
    let Some(path) = ca_file else { return Ok(builder) };
    let pem = std::fs::read(path).with_context(|| format!("cannot read the ca file {}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("the ca file {} is not valid pem", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "the ca file {} holds no certificate", path.display());
    Ok(certs.into_iter().fold(builder, reqwest::ClientBuilder::add_root_certificate))
}

/// `DIDROUTE_CA_FILE` from the environment, when set and not blank.
pub fn ca_file_from_env() -> Option<std::path::PathBuf> {
    std::env::var_os(CA_FILE_VAR).filter(|v| !v.is_empty()).map(Into::into)
}
