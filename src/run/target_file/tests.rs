//! Every missing or misspelled key of a target file is reported at its line with what to
//! write; each test writes a real file and reads it with [`load`].

use super::load;

/// The error `load` gives for `yaml`, as the CLI prints it after `error: `.
fn error_for(yaml: &str) -> String {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, yaml).expect("the target file is written");
    match load(&path) {
        Ok(_) => panic!("{yaml} was accepted"),
        Err(e) => e.to_string().replace(&path.display().to_string(), "t.yaml"),
    }
}

/// `PATH` is set in any environment, so the password check passes and later checks speak.
const AGENTS: &str = "agents:\n  - {username: agent1, password_env: PATH}\n";

#[test]
fn a_file_without_fixtures_is_told_where_and_what_to_add() {
    let e = error_for(&format!("name: lab\nbase_url: http://gws:8080\n{AGENTS}"));
    assert!(
        e.starts_with("t.yaml:1:1: the top level (from line 1) has no `fixtures`; add `fixtures:`"),
        "{e}"
    );
    for what in [
        "native:",
        "url:",
        "exec:",
        "fixtures: {native: {dial: \"15002\"}}",
    ] {
        assert!(e.contains(what), "{what} in {e}");
    }
    assert!(!e.contains("error"), "no doubled `error:`: {e}");
}

#[test]
fn a_file_without_base_url_is_told_where_and_what_to_add() {
    let e = error_for(&format!("name: lab\n{AGENTS}fixtures: {{url: http://f}}\n"));
    assert!(
        e.starts_with(
            "t.yaml:1:1: the top level (from line 1) has no `base_url`; add `base_url: https://"
        ),
        "{e}"
    );
    assert!(!e.contains("error"), "{e}");
}

#[test]
fn a_file_without_agents_is_told_where_and_what_to_add() {
    let e = error_for("name: lab\nbase_url: http://gws:8080\nfixtures: {url: http://f}\n");
    assert!(
        e.starts_with("t.yaml:1:1: the top level (from line 1) has no `agents`; add `agents:`"),
        "{e}"
    );
    assert!(
        e.contains("{username: agent1, password_env: GWS_AGENT1_PASSWORD}"),
        "{e}"
    );
    assert!(e.contains("agent_pattern"), "the alternative is named: {e}");
}

#[test]
fn a_file_without_name_is_told_where_and_what_to_add() {
    let e = error_for(&format!(
        "base_url: http://gws:8080\n{AGENTS}fixtures: {{url: http://f}}\n"
    ));
    assert!(
        e.starts_with("t.yaml:1:1: the top level (from line 1) has no `name`; add `name: "),
        "{e}"
    );
}

#[test]
fn a_missing_top_level_key_points_at_where_the_mapping_starts() {
    let e = error_for(&format!("# lab\n\nname: lab\n{AGENTS}"));
    assert!(
        e.starts_with("t.yaml:3:1: the top level (from line 3) has no `base_url`"),
        "{e}"
    );
}

#[test]
fn an_empty_agents_list_points_at_its_line() {
    let e = error_for("name: lab\nbase_url: http://gws\nagents: []\nfixtures: {url: http://f}\n");
    assert!(
        e.starts_with("t.yaml:3:1: `agents` names no agent; write `agents:`"),
        "{e}"
    );
}

#[test]
fn an_agent_without_password_env_points_at_the_entry() {
    for entry in ["  - username: agent1\n", "  - {username: agent1}\n"] {
        let e = error_for(&format!(
            "name: lab\nbase_url: http://gws\nagents:\n{entry}fixtures: {{url: http://f}}\n"
        ));
        assert!(
            e.starts_with("t.yaml:4:") && e.contains("`agents[0]` (line 4) has no `password_env`; add `password_env: GWS_AGENT1_PASSWORD`"),
            "{e}"
        );
    }
}

#[test]
fn a_misspelled_key_is_located_with_the_key_it_resembles() {
    let e = error_for(&format!(
        "name: lab\nbase_ur: http://gws\n{AGENTS}fixtures: {{url: http://f}}\n"
    ));
    assert!(
        e.starts_with(
            "t.yaml:2:1: unknown key `base_ur` at the top level; did you mean `base_url`?"
        ),
        "{e}"
    );
    let e = error_for(&format!(
        "name: lab\nbase_url: http://gws\n{AGENTS}fixtures:\n  native:\n    dail: \"15002\"\n"
    ));
    assert!(
        e.starts_with("t.yaml:7:5: unknown key `dail` in `fixtures.native`; did you mean `dial`?"),
        "{e}"
    );
    let e = error_for(
        "name: lab\nbase_url: http://gws\nagents:\n  - {username: a, pasword_env: P}\nfixtures: {url: http://f}\n",
    );
    assert!(
        e.starts_with(
            "t.yaml:4:19: unknown key `pasword_env` in `agents[0]`; did you mean `password_env`?"
        ),
        "{e}"
    );
}

#[test]
fn checks_after_parsing_point_at_the_key_they_judge() {
    let e = error_for(&format!(
        "name: lab\nbase_url: ftp://gws\n{AGENTS}fixtures: {{url: http://f}}\n"
    ));
    assert!(
        e.starts_with("t.yaml:2:1: `base_url` must start with"),
        "{e}"
    );
    let e = error_for(&format!(
        "name: lab\nbase_url: http://gws\n{AGENTS}fixtures: {{}}\n"
    ));
    assert!(
        e.starts_with("t.yaml:5:1: `fixtures` names no way to obtain interactions; write"),
        "{e}"
    );
    let e = error_for(&format!(
        "name: lab\nbase_url: http://gws\n{AGENTS}fixtures:\n  native: {{}}\n"
    ));
    assert!(
        e.starts_with("t.yaml:6:3: fixtures.native provisions nothing"),
        "{e}"
    );
}

#[test]
fn a_wrong_type_names_its_key_and_an_empty_file_what_it_needs() {
    let e = error_for("name: lab\nbase_url: http://gws\nagents: 4\nfixtures: {url: http://f}\n");
    assert!(e.starts_with("t.yaml:3:9: `agents`: "), "{e}");
    let e = error_for("");
    assert!(
        e.starts_with("t.yaml:1:1: the target file is empty; it needs `name`, `base_url`, `agents` and `fixtures`"),
        "{e}"
    );
}
