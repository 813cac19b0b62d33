//! Names suggested for discovered sites: the drupal-scim site name (a URL segment and part of an
//! environment variable) and the plain host name a sites.php key may be.

/// Longest site name: `^[a-z0-9][a-z0-9_-]{0,62}$`.
pub const MAX_NAME: usize = 63;

/// Name given when a directory name has nothing usable (`sites/ü` transliterates, `sites/日本`
/// may not).
const FALLBACK_NAME: &str = "site";

/// A site name from a site directory's name, unique among `taken`: transliterated to ASCII and
/// lowercased; every run of characters outside `[a-z0-9_-]` becomes `-`; a run of two or more
/// `-`/`_` becomes one `-`, so the environment variable of the name never holds the `__` that
/// separates its parts; trimmed of `-` and `_` (a name starts with a letter or digit); at most
/// [`MAX_NAME`] characters. A name already taken gets `-2`, `-3`, …; "taken" compares the
/// names' environment forms, because `a-b` and `a_b` would share one variable.
pub fn site_name(directory: &str, taken: &[String]) -> String {
    let mut mapped = String::new();
    for c in deunicode::deunicode(directory).chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
            mapped.push(c);
        } else if !mapped.ends_with('-') {
            mapped.push('-');
        }
    }
    let base = collapse_separators(&mapped);
    let base = if base.is_empty() { FALLBACK_NAME.to_string() } else { base };
    let free = |name: &str| !taken.iter().any(|t| env_name(t) == env_name(name));
    let first = shorten(&base, MAX_NAME);
    if free(&first) {
        return first;
    }
    (2u32..)
        .map(|n| {
            let suffix = format!("-{n}");
            format!("{}{suffix}", shorten(&base, MAX_NAME - suffix.len()))
        })
        .find(|name| free(name))
        .unwrap_or(first)
}

/// A run of two or more `-`/`_` becomes one `-`; the ends lose theirs.
fn collapse_separators(name: &str) -> String {
    let is_sep = |c: char| c == '-' || c == '_';
    let mut out = String::new();
    let mut run = String::new();
    for c in name.chars() {
        if is_sep(c) {
            run.push(c);
            continue;
        }
        match run.len() {
            0 => {}
            1 => out.push_str(&run),
            _ => out.push('-'),
        }
        run.clear();
        out.push(c);
    }
    out.trim_matches(is_sep).to_string()
}

/// At most `max` characters (the name is ASCII by now), not ending in a separator.
fn shorten(name: &str, max: usize) -> String {
    let cut: String = name.chars().take(max).collect();
    cut.trim_end_matches(['-', '_']).to_string()
}

/// The name as it appears in environment variables: `DRUPAL_SCIM_SITE_<this>__AUTH__SECRET`.
pub fn env_name(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// Why a sites.php key (`[port.]host[.path]`) is not suggested as the site's host, or `None`
/// when it is a plain host name. A path part cannot be told from a host label
/// (`example.com.mysite`), so a key with a dot and without a port is taken as a host.
pub fn not_a_plain_host(key: &str) -> Option<&'static str> {
    let first = key.split('.').next().unwrap_or_default();
    if !key.contains('.') {
        Some("no dot: a single label")
    } else if key.split('.').any(str::is_empty) {
        Some("an empty label")
    } else if !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-') {
        // Drupal lowercases the request's host before it looks it up.
        Some("not a lower-case host name")
    } else if first.chars().all(|c| c.is_ascii_digit()) {
        Some("starts with a number label: a port (or an IP address)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(directory: &str) -> String {
        site_name(directory, &[])
    }

    #[test]
    fn names_come_from_directory_names() {
        assert_eq!(name("default"), "default");
        assert_eq!(name("arts.example.edu"), "arts-example-edu");
        assert_eq!(name("8080.www.example.com.mysite"), "8080-www-example-com-mysite");
        assert_eq!(name("My Site!!"), "my-site");
        assert_eq!(name("Économie"), "economie");
        assert_eq!(name("keep_under-score"), "keep_under-score");
        assert_eq!(name("_x_"), "x");
        assert_eq!(name("a__b"), "a-b");
        assert_eq!(name("a_.b"), "a-b");
        assert_eq!(name("..."), "site");
    }

    #[test]
    fn names_match_the_settings_pattern_and_length() {
        let long = "x".repeat(70) + ".example";
        let n = name(&long);
        assert_eq!(n.len(), MAX_NAME);
        for directory in ["default", "-a", "ü.example", "a b", &long, "1.2.3", "日本", "a-"] {
            let n = name(directory);
            assert!(n.len() <= MAX_NAME && !n.is_empty(), "{directory} → {n}");
            let first = n.chars().next().unwrap();
            assert!(first.is_ascii_lowercase() || first.is_ascii_digit(), "{directory} → {n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'));
        }
    }

    #[test]
    fn names_are_made_unique_including_their_environment_form() {
        let taken = vec!["arts".to_string(), "arts-2".to_string(), "a_b".to_string()];
        assert_eq!(site_name("arts", &taken), "arts-3");
        assert_eq!(site_name("a-b", &taken), "a-b-2");
        let long = "y".repeat(63);
        let again = site_name(&long, std::slice::from_ref(&long));
        assert_eq!(again, format!("{}-2", "y".repeat(61)));
    }

    #[test]
    fn environment_names() {
        assert_eq!(env_name("arts-example_edu"), "ARTS_EXAMPLE_EDU");
    }

    #[test]
    fn plain_hosts_are_told_from_ports_and_single_labels() {
        assert_eq!(not_a_plain_host("arts.example.edu"), None);
        assert_eq!(not_a_plain_host("localhost.example"), None);
        // A path part looks like a host label: taken as a host.
        assert_eq!(not_a_plain_host("www.example.com.mysite"), None);
        assert!(not_a_plain_host("8080.www.example.com.mysite").unwrap().contains("port"));
        assert!(not_a_plain_host("127.0.0.1").unwrap().contains("port"));
        assert!(not_a_plain_host("localhost").unwrap().contains("no dot"));
        assert!(not_a_plain_host("Arts.example.edu").is_some());
        assert!(not_a_plain_host("a..b").is_some());
        assert!(not_a_plain_host("example.com/x").is_some());
    }
}
