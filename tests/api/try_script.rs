//! scripts/try.sh, the README's first command: it must keep working. `--check` walks Entra's
//! requests against a throwaway MariaDB and the server binary these tests built, and exits 0
//! only when every answer was the expected one.

use crate::helpers::repo_path;

fn try_script(args: &[&str]) -> String {
    let output = std::process::Command::new("bash")
        .arg(repo_path("scripts/try.sh"))
        .args(args)
        .env("DRUPAL_SCIM_BIN", env!("CARGO_BIN_EXE_drupal-scim"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run scripts/try.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "try.sh {args:?} failed:\n{text}");
    text
}

fn assert_walked(text: &str) {
    assert!(text.contains("Tenant URL:   http://127.0.0.1:"), "{text}");
    assert!(text.contains("Secret Token: ey"), "{text}");
    assert!(text.contains("6 of 6 steps answered as expected"), "{text}");
    // The People page after the last step: the provisioned account, blocked, with its role.
    let last = text.rsplit("Drupal's People page now lists:").next().unwrap();
    let row = last.lines().find(|l| l.contains("ada.lovelace@example.org")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("Blocked") && row.contains("Engine Builders"), "{row}");
    assert!(!text.contains('\u{1b}'), "no colours when the output is not a terminal");
}

/// One test, the two schemas one after the other: each run starts a MariaDB of its own, and the
/// suite already runs many servers at once.
#[test]
fn try_walks_entras_requests_on_a_drupal_10_and_a_drupal_7_site() {
    assert_walked(&try_script(&["--check"]));
    assert_walked(&try_script(&["--check", "--drupal7"]));
}
