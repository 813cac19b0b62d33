//! Read `sites/sites.php` the way [`crate::config::read`] reads settings.php: by asking PHP
//! first (exactly what Drupal sees, computed entries included), and with the literal reader of
//! [`super::sites_literal`] where there is no PHP or PHP fails; the answer says which one read it.

use super::sites_literal;
use crate::config::Reader;
use crate::config::php::{self, PhpError};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// The PHP run as `php -r SCRIPT -- <sites.php>`. Drupal includes sites.php with `$sites` empty
/// and `$app_root` set (DrupalKernel::findSitePath). The entries come back as `[key, directory]`
/// pairs, not a JSON object: that keeps PHP's order (the first plain host is the one suggested)
/// and keeps numeric keys as text.
pub const SCRIPT: &str = r#"
$drupal_scim_file = $argv[1];
if (!is_file($drupal_scim_file)) { fwrite(STDERR, "no such file: $drupal_scim_file\n"); exit(3); }
$drupal_scim_file = realpath($drupal_scim_file);
$app_root = dirname(dirname($drupal_scim_file));
$sites = [];
chdir($app_root);
ob_start();
include $drupal_scim_file;
ob_end_clean();
$drupal_scim_pairs = [];
if (is_array($sites)) {
  foreach ($sites as $drupal_scim_key => $drupal_scim_dir) { $drupal_scim_pairs[] = [(string) $drupal_scim_key, $drupal_scim_dir]; }
}
echo json_encode([
  'php_version' => PHP_VERSION,
  'is_array' => is_array($sites),
  'sites' => $drupal_scim_pairs,
], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
"#;

/// What sites.php maps, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitesPhp {
    /// `(key, directory)` pairs in the order PHP holds them.
    pub entries: Vec<(String, String)>,
    pub reader: Reader,
    /// Entries that could not be used, and uses of `$sites` the literal reader skipped.
    pub warnings: Vec<String>,
}

/// Read `sites_php` with `php`, or without PHP when that fails. An error means neither reader
/// could make sense of the file; it carries both reasons.
pub fn read(sites_php: &Path, php: &Path) -> Result<SitesPhp, String> {
    match php::run(php, SCRIPT, sites_php).and_then(|stdout| from_json(&stdout, php)) {
        Ok(asked) => Ok(asked),
        Err(failure) => {
            let why_not_php = failure.to_string();
            let text =
                std::fs::read_to_string(sites_php).map_err(|e| format!("cannot read {}: {e}", sites_php.display()))?;
            match sites_literal::parse_sites(&text) {
                Ok(literal) => Ok(SitesPhp {
                    entries: literal.entries,
                    reader: Reader::Literal { why_not_php },
                    warnings: literal.warnings,
                }),
                Err(e) => Err(format!("{}: {e} (PHP could not be asked: {why_not_php})", sites_php.display())),
            }
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    php_version: String,
    is_array: bool,
    sites: Vec<(String, Value)>,
}

/// The script's JSON, as the `php` binary read it. A directory that is not text is left out
/// with a warning, the way Drupal would fail to find that directory.
fn from_json(json: &str, php: &Path) -> Result<SitesPhp, PhpError> {
    let answer: Answer = serde_json::from_str(json.trim())
        .map_err(|e| PhpError::Failed(format!("PHP's answer is not the expected JSON ({e}): {json:.200}")))?;
    let mut warnings = Vec::new();
    if !answer.is_array {
        warnings.push("sites.php leaves $sites something other than an array: Drupal ignores it".to_string());
    }
    let mut entries = Vec::new();
    for (key, dir) in answer.sites {
        match dir {
            Value::String(dir) => entries.push((key, dir)),
            Value::Number(n) => entries.push((key, n.to_string())),
            other => warnings.push(format!("sites.php maps '{key}' to {other}, not a directory name: left out")),
        }
    }
    let reader = Reader::Php { binary: php.display().to_string(), version: answer.php_version };
    Ok(SitesPhp { entries, reader, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Result<SitesPhp, PhpError> {
        from_json(json, Path::new("/usr/bin/php"))
    }

    #[test]
    fn php_answers_keep_their_order_and_numeric_keys() {
        let read = answer(
            r#"{"php_version":"8.2.1","is_array":true,"sites":[["z.example","z"],["8080","a"],["b.example",2]]}"#,
        )
        .unwrap();
        assert_eq!(read.reader, Reader::Php { binary: "/usr/bin/php".into(), version: "8.2.1".into() });
        let expected: Vec<(String, String)> = [("z.example", "z"), ("8080", "a"), ("b.example", "2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(read.entries, expected);
        assert!(read.warnings.is_empty());
    }

    #[test]
    fn unusable_php_answers_are_warnings_or_failures() {
        let read =
            answer(r#"{"php_version":"8","is_array":true,"sites":[["a.example",null],["b.example","b"]]}"#).unwrap();
        assert_eq!(read.entries, vec![("b.example".to_string(), "b".to_string())]);
        assert!(read.warnings[0].contains("'a.example'"), "{:?}", read.warnings);
        let read = answer(r#"{"php_version":"8","is_array":false,"sites":[]}"#).unwrap();
        assert!(read.warnings[0].contains("other than an array"), "{:?}", read.warnings);
        assert!(matches!(answer("Parse error: …"), Err(PhpError::Failed(_))));
    }

    #[test]
    fn without_php_the_literal_reader_answers_and_says_why() {
        let dir = std::env::temp_dir().join(format!("drupal-scim-sites-php-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sites.php");
        std::fs::write(&file, "<?php\n$sites['a.example'] = 'a';\n").unwrap();
        let read = read(&file, Path::new("/nonexistent/php")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.entries, vec![("a.example".to_string(), "a".to_string())]);
        assert!(
            matches!(&read.reader, Reader::Literal { why_not_php } if why_not_php.contains("/nonexistent/php")),
            "{:?}",
            read.reader
        );
    }
}
