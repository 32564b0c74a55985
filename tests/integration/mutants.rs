//! Suite power: the default suite kills every injected defect while the clean reference server
//! passes, and a defect that no scenario catches makes `mutants` fail, naming it.

use std::process::Command;

fn mutants(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gws-conformance"))
        .arg("mutants")
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn the_default_suite_kills_every_defect() {
    let out = mutants(&["--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let matrix: serde_json::Value = serde_json::from_str(&stdout).expect("JSON matrix");
    let defects = matrix["defects"].as_array().expect("defects");
    assert!(defects.len() >= 20, "only {} defects", defects.len());
    for d in defects {
        assert!(
            !d["killed_by"].as_array().unwrap().is_empty(),
            "defect {} survived",
            d["server"]
        );
        assert!(
            d["error"].is_null(),
            "defect {} errored: {}",
            d["server"],
            d["error"]
        );
    }
    assert_eq!(matrix["killed"].as_u64(), Some(defects.len() as u64));
    assert_eq!(matrix["score"].as_f64(), Some(100.0));
    assert!(
        matrix["clean"]["killed_by"].as_array().unwrap().is_empty(),
        "the clean server fails: {}",
        matrix["clean"]
    );
}

#[test]
fn a_defect_no_scenario_catches_fails_the_run_and_is_named() {
    // One scenario that does not exercise authentication cannot catch `no-auth`.
    let out = mutants(&[
        "--filter",
        "sms/UpdateUserData/documented-sample",
        "--defect",
        "no-auth",
        "--defect",
        "no-notification",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("surviving defects: no-auth"), "{stdout}");
    assert!(
        stdout.contains("score: 1/2 defects killed (50%)"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("no-notification") && l.contains("yes")),
        "{stdout}"
    );
}
