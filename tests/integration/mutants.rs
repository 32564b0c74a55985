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

/// Every defect killed and the clean server passing everything: the score, which stopping
/// each defect's run at its first kill leaves unchanged (the clean run is always whole).
#[test]
fn the_default_suite_kills_every_defect() {
    let out = mutants(&["--json", "--first-kill"]);
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
    let scenarios = matrix["scenarios"].as_u64().expect("scenarios");
    assert_eq!(matrix["clean"]["ran"].as_u64(), Some(scenarios));
    // Stopping at the first kill really stops: together, the defects' runs need less than
    // half of the whole suite each (a defect only the last phase, the logouts, kills, still
    // runs nearly all of it).
    let ran: Vec<u64> = defects.iter().map(|d| d["ran"].as_u64().unwrap()).collect();
    assert!(ran.iter().all(|&r| r > 0 && r <= scenarios), "{ran:?}");
    assert!(
        ran.iter().sum::<u64>() * 2 < scenarios * defects.len() as u64,
        "the defects' runs ran {ran:?} of {scenarios} scenarios each"
    );
    assert_eq!(matrix["killed"].as_u64(), Some(defects.len() as u64));
    assert_eq!(matrix["score"].as_f64(), Some(100.0));
    assert!(
        matrix["clean"]["killed_by"].as_array().unwrap().is_empty(),
        "the clean server fails: {}",
        matrix["clean"]
    );
}

/// Without `--first-kill`, a defect's run goes on after its first kill: `killed_by` lists
/// every killer.
#[test]
fn the_full_matrix_lists_every_killer_and_first_kill_stops_at_one() {
    let args = ["--json", "--filter", "voice/", "--defect", "no-auth"];
    let killers = |out: std::process::Output| {
        let matrix: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON matrix");
        let d = &matrix["defects"][0];
        (
            d["killed_by"].as_array().unwrap().len(),
            d["ran"].as_u64().unwrap(),
            matrix["scenarios"].as_u64().unwrap(),
        )
    };
    let (full, full_ran, scenarios) = killers(mutants(&args));
    // One scenario at a time, so none is in flight beside the first killer.
    let mut first = args.to_vec();
    first.extend(["--first-kill", "--jobs", "1"]);
    let (quick, quick_ran, _) = killers(mutants(&first));
    assert_eq!(full_ran, scenarios);
    assert!(full > 1, "no-auth is killed by {full} voice scenario(s)");
    assert!(
        quick >= 1 && quick < full,
        "first kill: {quick} killers, full: {full}"
    );
    assert!(
        quick_ran < full_ran,
        "first kill ran {quick_ran} of {full_ran}"
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
