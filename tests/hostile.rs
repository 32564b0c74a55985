//! stub (being written)
#[test]
fn stub() {
    let _ = env!("CARGO_BIN_EXE_gws-conformance");
    let _ = gws_conformance::server::ServerConfig::default();
}
