//! TLS targets: certificates are verified by default, a private CA is trusted through the
//! target file's `ca_cert`, and `insecure: true` accepts any certificate. A TLS-terminating
//! proxy with a certificate from a CA made here sits in front of a plain `serve` process.

use crate::support;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::Path;
use std::sync::Arc;
use support::target::{AGENT_PASSWORDS, TargetFile};
use support::{bin, serve, text};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct Pki {
    ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gws-conformance test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("a self-signed CA");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server_key = KeyPair::generate().expect("a server key");
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("server params");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .expect("a server certificate");
    Pki {
        ca_pem: ca_cert.pem(),
        server_cert: server_cert.der().clone(),
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    }
}

/// Terminates TLS on a free port and forwards the plain bytes to `upstream`.
async fn tls_proxy(pki: &Pki, upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
        .expect("a TLS server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake; that is the point.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

fn run(target: &Path) -> std::process::Output {
    bin()
        .args([
            "run",
            "--quiet",
            "--target",
            target.to_str().unwrap(),
            "--filter",
            "chat/UpdateUserData/documented-sample",
            "--filter",
            "voice/DeleteUserData/documented-sample",
        ])
        .envs(AGENT_PASSWORDS)
        .output()
        .unwrap()
}

#[test]
fn certificates_are_verified_unless_the_target_file_says_otherwise() {
    let served = serve(&[]);
    let upstream: std::net::SocketAddr = served
        .base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let pki = pki();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let proxy = runtime.block_on(tls_proxy(&pki, upstream));
    let base_url = format!("https://127.0.0.1:{}", proxy.port());
    let dir = tempfile::tempdir().unwrap();
    let target = TargetFile::new("TLS target", &base_url);

    let untrusted = run(&target.write(dir.path()));
    assert_eq!(
        untrusted.status.code(),
        Some(2),
        "{}",
        text(&untrusted.stdout)
    );
    let stderr = text(&untrusted.stderr);
    assert!(
        stderr.contains("target `TLS target`") && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("lab-ca.pem"), &pki.ca_pem).unwrap();
    let trusted = run(&target.clone().ca_cert("lab-ca.pem").write(dir.path()));
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{}\n{}",
        text(&trusted.stdout),
        text(&trusted.stderr)
    );
    assert!(
        text(&trusted.stdout).contains("2 passed, 0 failed"),
        "{}",
        text(&trusted.stdout)
    );

    let insecure = run(&target.insecure().write(dir.path()));
    assert_eq!(
        insecure.status.code(),
        Some(0),
        "{}\n{}",
        text(&insecure.stdout),
        text(&insecure.stderr)
    );
}
