//! The shapes of SQL fragments both schemas fill in, so the shared store can build one
//! statement over either.

/// A multi-value table read on alias `x` (a field's values, or the role assignments): the
/// quoted table, the owner's uid column, the value expression and the conditions every live
/// row meets, with the names errors give its columns.
pub struct ValueTable {
    pub table: String,
    /// The table's unprefixed name, for errors.
    pub name: String,
    pub owner: &'static str,
    pub value: String,
    /// The value's column, for errors.
    pub value_column: String,
    /// SQL of a row's language (Drupal 7 role rows have none: `'und'`).
    pub language: &'static str,
    /// The language column, for errors.
    pub language_column: &'static str,
    /// SQL of a row's position (Drupal 7 role rows have none: their rid).
    pub delta: &'static str,
    /// The position column, for errors.
    pub delta_column: &'static str,
    pub conditions: &'static str,
}

/// `pr.<column> IN (…)` for the roles listed as protected on alias `pr` (binding them into
/// `params`), `1 = 0` when none are.
pub fn listed_roles_sql(column: &str, roles: &[String], params: &mut Vec<mysql_async::Value>) -> String {
    if roles.is_empty() {
        return "1 = 0".to_string();
    }
    params.extend(roles.iter().map(|r| mysql_async::Value::from(r.as_str())));
    format!("pr.`{column}` IN ({})", marks(roles.len()))
}

/// `?, ?, …`: `n` placeholders.
pub fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Escape LIKE wildcards so `%` and `_` in a value match literally.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape(r"a%b_c\d"), r"a\%b\_c\\d");
    }
}
