//! The test PKI: a trusted root, an issuing CA under it, their CRLs, and a second root that the
//! sandbox portal does not trust. Everything is done by the `openssl` command with the GOST engine
//! (`OPENSSL_CONF` must load it), the way a small CA would run it.
//!
//! Layout of the PKI directory:
//!
//! ```text
//! root.pem root.key          trusted root (GOST R 34.10-2012, 512-bit)
//! ca.pem ca.key              issuing CA (256-bit), signed by the root
//! crl.pem                    the issuing CA's CRL (what the portal checks leaves against)
//! root-crl.pem               the root's CRL (what the portal checks the issuing CA against)
//! untrusted-root.pem .key    a root nobody trusts, which issues the untrusted-ca profile
//! openssl.cnf                the `openssl ca` configuration
//! db/                        the CAs' databases (index, serials)
//! ```
//!
//! A PKI made with [`Options`] naming OCSP responders writes their URLs into the certificates
//! it issues (Authority Information Access): the root's responder into the issuing CA's
//! certificate, the issuing CA's into every leaf. [`Pki::ocsp_responder`] is the `openssl ocsp`
//! that answers at such a URL, from the CA's own database.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::Asn1Type;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::{X509NameBuilder, X509ReqBuilder};

use testdata::{Issuer, Profile, Validity};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error(
        "`openssl {command}` failed: {stderr}\n(is the GOST engine loaded? \
         Run with OPENSSL_CONF pointing at config/openssl-gost.cnf)"
    )]
    OpenSsl { command: String, stderr: String },
    #[error(
        "the PKI directory {0} is incomplete; remove it and run `podpis-vcard pki init` again"
    )]
    Incomplete(PathBuf),
    #[error("an OCSP responder's URL must be a plain http:// URL, not {0:?}")]
    OcspUrl(String),
    #[error("{0} was not issued by a CA of this PKI")]
    NotIssuedHere(String),
}

pub struct Pki {
    dir: PathBuf,
}

const CONFIG: &str = r#"# Written by podpis-vcard pki init: the test PKI's `openssl ca` configuration.
HOME = .

[req]
distinguished_name = req_dn
utf8 = yes
string_mask = utf8only
[req_dn]

[root_ca]
dir = @DIR@
database = $dir/db/root/index.txt
new_certs_dir = $dir/db/root/new
serial = $dir/db/root/serial
crlnumber = $dir/db/root/crlnumber
certificate = $dir/root.pem
private_key = $dir/root.key
default_md = md_gost12_512
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none

[issuing_ca]
dir = @DIR@
database = $dir/db/ca/index.txt
new_certs_dir = $dir/db/ca/new
serial = $dir/db/ca/serial
crlnumber = $dir/db/ca/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = md_gost12_256
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none

[untrusted_ca]
dir = @DIR@
database = $dir/db/untrusted/index.txt
new_certs_dir = $dir/db/untrusted/new
serial = $dir/db/untrusted/serial
crlnumber = $dir/db/untrusted/crlnumber
certificate = $dir/untrusted-root.pem
private_key = $dir/untrusted-root.key
default_md = md_gost12_256
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none

[policy_any]
commonName = supplied

[ext_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ext_issuing_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = 1.2.643.100.113.1, 1.2.643.100.113.2
subjectSignTool = ПАК «Подпись УЦ» (тестовый)
@ROOT_OCSP@

[ext_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth, emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = 1.2.643.100.113.1
subjectSignTool = СКЗИ «Подпись ВК» (тестовое)
issuerSignTool = signTool:ПАК «Подпись УЦ» (тестовый), cATool:ПАК «Подпись УЦ» 2.0 (тестовый), signToolCert:СФ/000-0000 (тестовое), cAToolCert:СФ/000-0001 (тестовое)
@CA_OCSP@
"#;

/// How a new PKI is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The URL of the root's OCSP responder, written into the issuing CA's certificate.
    pub root_ocsp: Option<String>,
    /// The URL of the issuing CA's OCSP responder, written into every leaf certificate.
    pub ca_ocsp: Option<String>,
}

/// One of the PKI's certification authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The trusted root: it issues the issuing CA.
    Root,
    /// The issuing CA: it issues the cards' certificates.
    Issuing,
    /// The root nobody trusts: it issues the untrusted-ca profile.
    Untrusted,
}

impl Authority {
    /// The section of openssl.cnf, the database directory and the certificate and key files.
    fn files(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::Root => ("root_ca", "root", "root.pem", "root.key"),
            Self::Issuing => ("issuing_ca", "ca", "ca.pem", "ca.key"),
            Self::Untrusted => (
                "untrusted_ca",
                "untrusted",
                "untrusted-root.pem",
                "untrusted-root.key",
            ),
        }
    }
}

/// The configuration line naming an OCSP responder, or none. The URL goes into a configuration
/// file, so it must be one line of plain characters.
fn ocsp_line(url: Option<&str>) -> Result<String, PkiError> {
    let Some(url) = url else {
        return Ok(String::new());
    };
    let plain = url.starts_with("http://")
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b',' | b'"' | b'$' | b'\\'));
    if !plain {
        return Err(PkiError::OcspUrl(url.to_owned()));
    }
    Ok(format!("authorityInfoAccess = OCSP;URI:{url}"))
}

impl Pki {
    /// Creates the PKI in `dir` unless it is already there. Safe to call from several processes
    /// at once: they take turns under a lock file.
    pub fn init(dir: &Path) -> Result<Self, PkiError> {
        Self::init_with(dir, &Options::default())
    }

    /// [`Pki::init`], with `options` for a PKI that is made now (an existing one is kept as it
    /// is).
    pub fn init_with(dir: &Path, options: &Options) -> Result<Self, PkiError> {
        fs::create_dir_all(dir).map_err(|e| PkiError::Io(dir.display().to_string(), e))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| PkiError::Io(dir.display().to_string(), e))?;
        let pki = Self { dir };
        let _lock = pki.lock()?;
        if pki.path("root.pem").exists() && pki.path("crl.pem").exists() {
            return Ok(pki);
        }
        if pki.path("root.pem").exists() {
            return Err(PkiError::Incomplete(pki.dir.clone()));
        }
        pki.create(options)?;
        Ok(pki)
    }

    /// Opens an existing PKI, creating it when it is missing.
    pub fn open(dir: &Path) -> Result<Self, PkiError> {
        Self::init(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn lock(&self) -> Result<File, PkiError> {
        let path = self.path(".lock");
        let file = File::create(&path).map_err(|e| PkiError::Io(path.display().to_string(), e))?;
        file.lock()
            .map_err(|e| PkiError::Io(path.display().to_string(), e))?;
        Ok(file)
    }

    fn create(&self, options: &Options) -> Result<(), PkiError> {
        // Checked before anything is written: a refused URL leaves no half-made PKI.
        let root_ocsp = ocsp_line(options.root_ocsp.as_deref())?;
        let ca_ocsp = ocsp_line(options.ca_ocsp.as_deref())?;
        for ca in ["root", "ca", "untrusted"] {
            let db = self.dir.join("db").join(ca);
            let new = db.join("new");
            fs::create_dir_all(&new).map_err(|e| PkiError::Io(new.display().to_string(), e))?;
            write(&db.join("index.txt"), "")?;
            write(&db.join("index.txt.attr"), "unique_subject = no\n")?;
            write(&db.join("serial"), "1000\n")?;
            write(&db.join("crlnumber"), "1000\n")?;
        }
        let dir = self.dir.display().to_string();
        let config = CONFIG
            .replace("@DIR@", &dir)
            .replace("@ROOT_OCSP@", &root_ocsp)
            .replace("@CA_OCSP@", &ca_ocsp);
        write(&self.path("openssl.cnf"), &config)?;
        let cnf = self.path("openssl.cnf");
        let cnf = cnf.to_string_lossy();

        genpkey("gost2012_512", &self.path("root.key"))?;
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-utf8",
            "-config",
            &cnf,
            "-extensions",
            "ext_root",
            "-key",
            &self.s("root.key"),
            "-days",
            "7300",
            "-out",
            &self.s("root.pem"),
            "-subj",
            "/C=RU/O=Подпись (тестовый УЦ)/CN=Подпись: тестовый корневой УЦ",
        ])?;

        genpkey("gost2012_256", &self.path("ca.key"))?;
        let ca_subject = [
            Rdn::printable("C", "RU"),
            Rdn::utf8("O", "Подпись (тестовый УЦ)"),
            Rdn::utf8("CN", "Подпись: тестовый аккредитованный УЦ"),
            Rdn::numeric(OGRN, "1027700132195"),
            Rdn::numeric(INN_LE, "7707049388"),
        ];
        write_csr(&ca_subject, &self.path("ca.key"), &self.path("ca.csr"))?;
        openssl(&[
            "ca",
            "-batch",
            "-utf8",
            "-preserveDN",
            "-notext",
            "-config",
            &cnf,
            "-name",
            "root_ca",
            "-extensions",
            "ext_issuing_ca",
            "-days",
            "5000",
            "-in",
            &self.s("ca.csr"),
            "-out",
            &self.s("ca.pem"),
        ])?;

        genpkey("gost2012_256", &self.path("untrusted-root.key"))?;
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-utf8",
            "-config",
            &cnf,
            "-extensions",
            "ext_root",
            "-key",
            &self.s("untrusted-root.key"),
            "-days",
            "7300",
            "-out",
            &self.s("untrusted-root.pem"),
            "-subj",
            "/C=RU/O=Не аккредитован/CN=Непроверенный УЦ",
        ])?;

        self.update_crls()?;
        Ok(())
    }

    /// Revokes a certificate issued by one of the PKI's CAs (a card's certificate by the issuing
    /// CA, or the issuing CA's own by the root) and writes the CRLs again.
    pub fn revoke(&self, certificate: &Path) -> Result<(), PkiError> {
        let _lock = self.lock()?;
        let bytes = fs::read(certificate)
            .map_err(|e| PkiError::Io(certificate.display().to_string(), e))?;
        let cert = openssl::x509::X509::from_der(&bytes)
            .or_else(|_| openssl::x509::X509::from_pem(&bytes))
            .map_err(|e| PkiError::OpenSsl {
                command: "x509 (parse)".into(),
                stderr: e.to_string(),
            })?;
        let authority = self
            .issuer_of(&cert)?
            .ok_or_else(|| PkiError::NotIssuedHere(certificate.display().to_string()))?;
        let pem = self.path("revoking.pem");
        let text = cert.to_pem().map_err(|e| PkiError::OpenSsl {
            command: "x509 (pem)".into(),
            stderr: e.to_string(),
        })?;
        fs::write(&pem, text).map_err(|e| PkiError::Io(pem.display().to_string(), e))?;
        openssl(&[
            "ca",
            "-config",
            &self.s("openssl.cnf"),
            "-name",
            authority.files().0,
            "-revoke",
            &pem.to_string_lossy(),
        ])?;
        self.update_crls()
    }

    /// The CA of this PKI that issued `cert` (by name and key identifier, as OpenSSL matches an
    /// issuer), if any.
    fn issuer_of(&self, cert: &openssl::x509::X509Ref) -> Result<Option<Authority>, PkiError> {
        for authority in [Authority::Issuing, Authority::Root, Authority::Untrusted] {
            let path = self.path(authority.files().2);
            let bytes = fs::read(&path).map_err(|e| PkiError::Io(path.display().to_string(), e))?;
            let ca = openssl::x509::X509::from_pem(&bytes).map_err(|e| PkiError::OpenSsl {
                command: "x509 (parse)".into(),
                stderr: e.to_string(),
            })?;
            if ca.issued(cert) == openssl::x509::X509VerifyResult::OK {
                return Ok(Some(authority));
            }
        }
        Ok(None)
    }

    /// The `openssl ocsp` responder of `authority`, answering on `port` from the CA's own
    /// database and signing with the CA's key. It reads the database again when it changes, but
    /// only between two requests (OpenSSL 3.0 checks before it waits for the next one): the
    /// first request after a change is answered from the old one. `-ignore_err` keeps it running
    /// after a malformed request; `-timeout` stops one silent client from holding it.
    pub fn ocsp_responder(&self, authority: Authority, port: u16) -> Command {
        let (_, db, certificate, key) = authority.files();
        let mut command = Command::new("openssl");
        command
            .arg("ocsp")
            .arg("-index")
            .arg(self.dir.join("db").join(db).join("index.txt"))
            .arg("-CA")
            .arg(self.path(certificate))
            .arg("-rsigner")
            .arg(self.path(certificate))
            .arg("-rkey")
            .arg(self.path(key))
            .args(["-port", &port.to_string(), "-ignore_err", "-timeout", "5"]);
        command
    }

    /// Writes the CRLs again (after a revocation, say).
    pub fn update_crls(&self) -> Result<(), PkiError> {
        let cnf = self.s("openssl.cnf");
        openssl(&[
            "ca",
            "-gencrl",
            "-config",
            &cnf,
            "-name",
            "root_ca",
            "-out",
            &self.s("root-crl.pem"),
        ])?;
        openssl(&[
            "ca",
            "-gencrl",
            "-config",
            &cnf,
            "-name",
            "issuing_ca",
            "-out",
            &self.s("crl.pem"),
        ])?;
        Ok(())
    }

    /// Issues the profile's certificate for the public key of `key_pem`; returns it as DER.
    pub fn issue(
        &self,
        profile: &Profile,
        key_pem: &Path,
        work: &Path,
    ) -> Result<Vec<u8>, PkiError> {
        let _lock = self.lock()?;
        let csr = work.join("request.csr");
        let pem = work.join("certificate.pem");
        write_csr(&subject(profile), key_pem, &csr)?;
        let day = 86_400;
        let (start, end) = match profile.validity {
            Validity::Current => (-day, 365 * day),
            Validity::Expired => (-730 * day, -365 * day),
        };
        let ca = match profile.issuer {
            Issuer::Trusted => "issuing_ca",
            Issuer::Untrusted => "untrusted_ca",
        };
        openssl(&[
            "ca",
            "-batch",
            "-utf8",
            "-preserveDN",
            "-notext",
            "-config",
            &self.s("openssl.cnf"),
            "-name",
            ca,
            "-extensions",
            "ext_leaf",
            "-startdate",
            &asn1_time(start),
            "-enddate",
            &asn1_time(end),
            "-in",
            &csr.to_string_lossy(),
            "-out",
            &pem.to_string_lossy(),
        ])?;
        let text = fs::read(&pem).map_err(|e| PkiError::Io(pem.display().to_string(), e))?;
        let cert = openssl::x509::X509::from_pem(&text).map_err(|e| PkiError::OpenSsl {
            command: "x509 (parse)".into(),
            stderr: e.to_string(),
        })?;
        cert.to_der().map_err(|e| PkiError::OpenSsl {
            command: "x509 (der)".into(),
            stderr: e.to_string(),
        })
    }

    fn s(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

const SNILS: &str = "1.2.643.100.3";
const INN: &str = "1.2.643.3.131.1.1";
const INN_LE: &str = "1.2.643.100.4";
const OGRN: &str = "1.2.643.100.1";
const OGRNIP: &str = "1.2.643.100.5";

/// One attribute of a distinguished name, with the string type FSB order 795 asks for: numbers
/// are NumericString, the country PrintableString, names UTF8String. (`openssl req -subj` cannot
/// choose types and OpenSSL 3.0 does not even know INNLE, 1.2.643.100.4: it skips it silently.)
struct Rdn {
    field: &'static str,
    value: String,
    kind: Asn1Type,
}

impl Rdn {
    fn utf8(field: &'static str, value: &str) -> Self {
        Self {
            field,
            value: value.to_owned(),
            kind: Asn1Type::UTF8STRING,
        }
    }
    fn printable(field: &'static str, value: &str) -> Self {
        Self {
            field,
            value: value.to_owned(),
            kind: Asn1Type::PRINTABLESTRING,
        }
    }
    fn numeric(field: &'static str, value: &str) -> Self {
        Self {
            field,
            value: value.to_owned(),
            kind: Asn1Type::NUMERICSTRING,
        }
    }
}

/// The subject of a profile's certificate, in the order of FSB order 795's examples.
fn subject(p: &Profile) -> Vec<Rdn> {
    let person = &p.person;
    let mut rdns = vec![
        Rdn::printable("C", "RU"),
        Rdn::utf8("ST", "77 г. Москва"),
        Rdn::utf8("L", "Москва"),
    ];
    match &p.organisation {
        Some(org) => {
            rdns.push(Rdn::utf8("O", &org.name));
            rdns.push(Rdn::utf8("CN", &org.name));
            rdns.push(Rdn::utf8("title", "Генеральный директор"));
        }
        None => rdns.push(Rdn::utf8(
            "CN",
            &format!("{} {}", person.surname, person.given_names),
        )),
    }
    rdns.push(Rdn::utf8("SN", &person.surname));
    rdns.push(Rdn::utf8("GN", &person.given_names));
    if !p.certificate_without_snils {
        rdns.push(Rdn::numeric(SNILS, &person.snils));
    }
    rdns.push(Rdn::numeric(INN, &person.inn));
    if let Some(ogrnip) = &person.ogrnip {
        rdns.push(Rdn::numeric(OGRNIP, ogrnip));
    }
    if let Some(org) = &p.organisation {
        rdns.push(Rdn::numeric(OGRN, &org.ogrn));
        rdns.push(Rdn::numeric(INN_LE, &org.inn));
    }
    rdns
}

/// Writes a certificate request for the key in `key_pem`, signed by that key, as PEM.
fn write_csr(subject: &[Rdn], key_pem: &Path, out: &Path) -> Result<(), PkiError> {
    let fail = |what: &str, e: openssl::error::ErrorStack| PkiError::OpenSsl {
        command: format!("req ({what})"),
        stderr: e.to_string(),
    };
    let pem = fs::read(key_pem).map_err(|e| PkiError::Io(key_pem.display().to_string(), e))?;
    let key = PKey::private_key_from_pem(&pem).map_err(|e| fail("key", e))?;
    let mut name = X509NameBuilder::new().map_err(|e| fail("name", e))?;
    for rdn in subject {
        name.append_entry_by_text_with_type(rdn.field, &rdn.value, rdn.kind)
            .map_err(|e| fail(rdn.field, e))?;
    }
    let name = name.build();
    // The request is signed with the hash that goes with the key: GOST R 34.11-94 for a
    // GOST R 34.10-2001 key, Streebog of the key's size otherwise.
    let digest = if key.id() == openssl::pkey::Id::EC {
        // The PIV card's ECDSA P-256 key signs its request with SHA-256.
        "SHA256"
    } else if key.id().as_raw() == Nid::ID_GOSTR3410_2001.as_raw() {
        "md_gost94"
    } else if key.bits() == 512 {
        "md_gost12_512"
    } else {
        "md_gost12_256"
    };
    let digest = MessageDigest::from_name(digest).ok_or_else(|| PkiError::OpenSsl {
        command: "req (digest)".into(),
        stderr: format!("no {digest} digest: the GOST engine is not loaded"),
    })?;
    let mut req = X509ReqBuilder::new().map_err(|e| fail("request", e))?;
    req.set_subject_name(&name)
        .map_err(|e| fail("subject", e))?;
    req.set_pubkey(&key).map_err(|e| fail("public key", e))?;
    req.sign(&key, digest).map_err(|e| fail("signature", e))?;
    let pem = req.build().to_pem().map_err(|e| fail("pem", e))?;
    fs::write(out, pem).map_err(|e| PkiError::Io(out.display().to_string(), e))
}

pub fn genpkey(algorithm: &str, out: &Path) -> Result<(), PkiError> {
    // GOST keys take their parameter set; an EC key is the PIV card's, on curve P-256.
    let parameters = if algorithm == "EC" {
        "ec_paramgen_curve:P-256"
    } else {
        "paramset:A"
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        algorithm,
        "-pkeyopt",
        parameters,
        "-out",
        &out.to_string_lossy(),
    ])
}

fn openssl(args: &[&str]) -> Result<(), PkiError> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|e| PkiError::Io("openssl".into(), e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(PkiError::OpenSsl {
            command: args.iter().take(2).copied().collect::<Vec<_>>().join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn write(path: &Path, text: &str) -> Result<(), PkiError> {
    fs::write(path, text).map_err(|e| PkiError::Io(path.display().to_string(), e))
}

/// `YYYYMMDDHHMMSSZ` for now plus `offset` seconds.
fn asn1_time(offset: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let t = now as i64 + offset;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocsp_urls_are_plain_http_on_one_line() {
        assert_eq!(ocsp_line(None).expect("none"), "");
        assert_eq!(
            ocsp_line(Some("http://127.0.0.1:8888")).expect("plain"),
            "authorityInfoAccess = OCSP;URI:http://127.0.0.1:8888"
        );
        for bad in [
            "https://ocsp.example",
            "http://a, caIssuers;URI:http://b",
            "http://a\nbasicConstraints = CA:TRUE",
            "http://a b",
            "http://$dir",
        ] {
            assert!(
                matches!(ocsp_line(Some(bad)), Err(PkiError::OcspUrl(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn civil_dates_are_right_around_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn subjects_type_numbers_and_omit_snils_where_the_profile_says() {
        let has = |rdns: &[Rdn], field: &str, value: &str| {
            rdns.iter()
                .any(|r| r.field == field && r.value == value && r.kind == Asn1Type::NUMERICSTRING)
        };
        let p = testdata::profile("legal-entity-without-snils").expect("profile");
        let s = subject(p);
        assert!(!s.iter().any(|r| r.field == SNILS));
        assert!(has(&s, OGRN, "1167782753676"));
        assert!(has(&s, INN_LE, "7780157644"));
        let p = testdata::profile("entrepreneur").expect("profile");
        assert!(has(&subject(p), SNILS, "54771278218"));
        assert!(has(&subject(p), OGRNIP, "321774638816302"));
    }
}
