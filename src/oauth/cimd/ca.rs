//! The run's own certificate authority for serving client ID metadata documents over HTTPS
//! on loopback: an AS that fetches only https documents trusts its certificate
//! (`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`...). Kept in a directory so the AS can be pointed
//! at it before the run starts; name-constrained to loopback, so its key can vouch for
//! nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType, GeneralSubtree, IsCa, KeyPair,
    KeyUsagePurpose, NameConstraints, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The CA certificate's file in the directory: what the AS is pointed at.
pub const CERT_FILE: &str = "ca.pem";
const KEY_FILE: &str = "ca-key.pem";

/// A loopback CA: its certificate, and its key to sign the host's certificate with.
pub struct LoopbackCa {
    params: CertificateParams,
    key: KeyPair,
    /// The certificate as written in the directory.
    cert: CertificateDer<'static>,
    pub cert_path: PathBuf,
}

impl LoopbackCa {
    /// The CA kept in `dir`, made there (with the directory) on first use. `created` says
    /// whether it was made now: an AS started before cannot trust it yet.
    pub fn in_dir(dir: &Path) -> Result<(LoopbackCa, bool), String> {
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let created = !key_path.exists() && create(dir, &cert_path, &key_path)?;
        load(&cert_path, &key_path).map(|ca| (ca, created))
    }

    /// The CA certificate as a trust root (for a client in the same process).
    pub fn root(&self) -> Result<CertificateDer<'static>, String> {
        Ok(self.cert.clone())
    }

    /// A TLS server configuration for 127.0.0.1, ::1 and localhost, its certificate signed
    /// by this CA (made afresh each run: only the CA needs to last).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let issuer = self.params.clone().self_signed(&self.key).map_err(|e| e.to_string())?;
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| e.to_string())?;
        leaf.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        leaf.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let leaf_key = KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = leaf
            .signed_by(&leaf_key, &issuer, &self.key)
            .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone(), issuer.der().clone()], key)
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(config))
    }
}

/// The CA's fixed parameters: the same each time, so a certificate signed with a reloaded key
/// chains to the certificate written when the key was made.
fn params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "mcp-auth-conformance loopback CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
            GeneralSubtree::IpAddress(CidrSubnet::V6(Ipv6Addr::LOCALHOST.octets(), [0xff; 16])),
            GeneralSubtree::DnsName("localhost".to_owned()),
        ],
        excluded_subtrees: Vec::new(),
    });
    params
}

/// Makes a CA in `dir`; false if another run made one meanwhile. Both files are written
/// aside, then the key is linked into place (which fails if a key is there: that run's CA
/// stands) and the certificate renamed after it.
fn create(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<bool, String> {
    let failed = |what: &str, path: &Path, e: &dyn std::fmt::Display| format!("{what} {}: {e}", path.display());
    std::fs::create_dir_all(dir).map_err(|e| failed("cannot create", dir, &e))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params().self_signed(&key).map_err(|e| e.to_string())?;
    let aside = |name: &str| dir.join(format!(".{name}.{}", std::process::id()));
    let (new_key, new_cert) = (aside(KEY_FILE), aside(CERT_FILE));
    write_private(&new_key, &key.serialize_pem()).map_err(|e| failed("cannot write", &new_key, &e))?;
    std::fs::write(&new_cert, cert.pem()).map_err(|e| failed("cannot write", &new_cert, &e))?;
    let won = std::fs::hard_link(&new_key, key_path).is_ok();
    if won {
        std::fs::rename(&new_cert, cert_path).map_err(|e| failed("cannot write", cert_path, &e))?;
    }
    let _ = std::fs::remove_file(&new_key);
    let _ = std::fs::remove_file(&new_cert);
    Ok(won)
}

/// The CA in the directory, its certificate checked against its key.
fn load(cert_path: &Path, key_path: &Path) -> Result<LoopbackCa, String> {
    use rustls::pki_types::pem::PemObject;
    let failed = |what: &str, path: &Path, e: &dyn std::fmt::Display| format!("{what} {}: {e}", path.display());
    let pem = std::fs::read_to_string(key_path).map_err(|e| failed("cannot read", key_path, &e))?;
    let key = KeyPair::from_pem(&pem).map_err(|e| failed("not a key:", key_path, &e))?;
    // Another run may be between linking the key and renaming the certificate.
    for _ in 0..20 {
        if cert_path.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let cert = CertificateDer::from_pem_file(cert_path).map_err(|e| failed("cannot read", cert_path, &e))?;
    // The certificate carries the key's public half (in its SubjectPublicKeyInfo).
    let public = key.public_key_raw();
    if !cert.windows(public.len()).any(|w| w == public) {
        return Err(format!(
            "{} is not the certificate of {}: remove the directory and run again",
            cert_path.display(),
            key_path.display()
        ));
    }
    Ok(LoopbackCa {
        params: params(),
        key,
        cert,
        cert_path: cert_path.to_owned(),
    })
}

/// Writes a private key readable by its owner only (where the platform has modes).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}
