//! The cluster's certificates: a CA created once per data dir, serving
//! certificates for the API server, and client certificates that carry a
//! user name (CN) and groups (O) for authentication.
//!
//! Pure PEM in, PEM out, plus loading/saving of the CA files; it must not
//! decide who gets which certificate (the callers do).

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// Why a certificate could not be created, loaded or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid certificate: {0}")]
    Parse(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The cluster certificate authority that signs every other certificate.
pub struct Ca {
    pair: CertPair,
}

/// Who a client certificate says its holder is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub common_name: String,
    pub organizations: Vec<String>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write `contents` to `path` readable only by the owner (keys, kubeconfigs).
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(contents.as_bytes()).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = std::time::SystemTime::now();
    let back = std::time::Duration::from_secs(3600);
    let forward = std::time::Duration::from_secs(u64::try_from(days).unwrap_or(365) * 86_400);
    params.not_before = (now - back).into();
    params.not_after = (now + forward).into();
}

impl Ca {
    /// A new self-signed CA (ten years), like k3s' `k3s-server-ca`.
    pub fn generate(common_name: &str) -> Result<Ca> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, 3650);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            pair: CertPair {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            },
        })
    }

    /// Load `ca.crt`/`ca.key` from `dir`, creating them on first use.
    pub fn load_or_create(dir: &Path, common_name: &str) -> Result<Ca> {
        let crt = dir.join("ca.crt");
        let key = dir.join("ca.key");
        if crt.exists() && key.exists() {
            let cert_pem = fs::read_to_string(&crt).map_err(io_err(&crt))?;
            let key_pem = fs::read_to_string(&key).map_err(io_err(&key))?;
            return Ok(Ca {
                pair: CertPair { cert_pem, key_pem },
            });
        }
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let ca = Ca::generate(common_name)?;
        write_private(&key, &ca.pair.key_pem)?;
        fs::write(&crt, &ca.pair.cert_pem).map_err(io_err(&crt))?;
        Ok(ca)
    }

    /// The CA certificate clients must trust.
    pub fn cert_pem(&self) -> &str {
        &self.pair.cert_pem
    }

    fn sign(&self, params: CertificateParams) -> Result<CertPair> {
        let ca_key = KeyPair::from_pem(&self.pair.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.pair.cert_pem, ca_key)?;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A serving certificate valid for these DNS names and IPs (one year).
    pub fn issue_server(
        &self,
        common_name: &str,
        dns_names: &[String],
        ips: &[IpAddr],
    ) -> Result<CertPair> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        for name in dns_names {
            params
                .subject_alt_names
                .push(SanType::DnsName(name.clone().try_into()?));
        }
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params, 365);
        self.sign(params)
    }

    /// A client certificate naming a user (CN) and its groups (O).
    pub fn issue_client(&self, subject: &Subject) -> Result<CertPair> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, subject.common_name.as_str());
        for org in &subject.organizations {
            dn.push(DnType::OrganizationName, org.as_str());
        }
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params, 365);
        self.sign(params)
    }
}

/// Load a certificate pair from `<stem>.crt`/`<stem>.key`, or issue and save it.
pub fn load_or_issue(
    dir: &Path,
    stem: &str,
    issue: impl FnOnce() -> Result<CertPair>,
) -> Result<CertPair> {
    let crt = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    if crt.exists() && key.exists() {
        let cert_pem = fs::read_to_string(&crt).map_err(io_err(&crt))?;
        let key_pem = fs::read_to_string(&key).map_err(io_err(&key))?;
        return Ok(CertPair { cert_pem, key_pem });
    }
    let pair = issue()?;
    write_private(&key, &pair.key_pem)?;
    fs::write(&crt, &pair.cert_pem).map_err(io_err(&crt))?;
    Ok(pair)
}

/// The subject of a DER client certificate, for authentication.
pub fn subject_of(der: &[u8]) -> Result<Subject> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| Error::Parse(e.to_string()))?;
    let subject = cert.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let organizations = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(str::to_string)
        .collect();
    Ok(Subject {
        common_name,
        organizations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der_of(pem: &str) -> Vec<u8> {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
        p.contents
    }

    #[test]
    fn client_certificate_carries_user_and_groups() {
        let ca = Ca::generate("test-ca").expect("ca");
        let subject = Subject {
            common_name: "system:admin".into(),
            organizations: vec!["system:masters".into()],
        };
        let pair = ca.issue_client(&subject).expect("client");
        assert_eq!(
            subject_of(&der_of(&pair.cert_pem)).expect("subject"),
            subject
        );
    }

    #[test]
    fn ca_is_created_once_and_reloaded() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = Ca::load_or_create(dir.path(), "ca")
            .expect("create")
            .cert_pem()
            .to_string();
        let second = Ca::load_or_create(dir.path(), "ca")
            .expect("load")
            .cert_pem()
            .to_string();
        assert_eq!(first, second);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.path().join("ca.key"))
                .expect("meta")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn server_certificate_lists_its_names() {
        let ca = Ca::generate("ca").expect("ca");
        let ip: IpAddr = [127, 0, 0, 1].into();
        let pair = ca
            .issue_server("kube-apiserver", &["kubernetes.default.svc".into()], &[ip])
            .expect("server");
        let der = der_of(&pair.cert_pem);
        let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("parse");
        let san = cert.subject_alternative_name().expect("ext").expect("san");
        let text = format!("{:?}", san.value.general_names);
        assert!(text.contains("kubernetes.default.svc"), "{text}");
        assert!(
            text.contains("127.0.0.1") || text.contains("[127, 0, 0, 1]"),
            "{text}"
        );
    }
}
