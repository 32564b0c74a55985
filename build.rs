//! Embeds the default suite (specs and pinned snapshots) into the binary, so that
//! `gws-conformance run` works from any directory and the released binary is self-contained.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

fn table(root: &Path, name: &str, files: &[PathBuf]) -> String {
    let mut code = format!("pub static {name}: &[(&str, &str)] = &[\n");
    for f in files {
        let relative = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let _ = writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    code.push_str("];\n");
    code
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut specs = Vec::new();
    collect(&root.join("specs"), "yaml", &mut specs);
    specs.sort();
    let mut snaps = Vec::new();
    collect(&root.join("snapshots"), "snap", &mut snaps);
    snaps.sort();
    let code = table(&root, "SPEC_FILES", &specs) + &table(&root, "SNAPSHOT_FILES", &snaps);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_suite.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=specs");
    println!("cargo:rerun-if-changed=snapshots");
}
