//! Table names with Drupal's prefix applied and quoted, built only from constants and the
//! validated prefix, so no client input can ever reach an identifier.

use crate::drupal::error::StoreError;

/// Quoted, prefixed table names for one site.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Schema (database) the tables live in when the prefix names another one (`otherdb.`).
    schema: Option<String>,
    prefix: String,
}

impl Tables {
    /// Validate a Drupal table prefix (`''`, `drupal_`, `otherdb.`, `otherdb.pfx_`).
    pub fn new(prefix: &str) -> Result<Tables, StoreError> {
        let ok = prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$')
            && prefix.matches('.').count() <= 1
            && prefix.len() <= 64;
        if !ok {
            return Err(StoreError::Invalid(format!(
                "table prefix {prefix:?} may only contain letters, digits, '_', '$' and one '.'"
            )));
        }
        Ok(match prefix.split_once('.') {
            Some((schema, rest)) => Tables { schema: Some(schema.to_string()), prefix: rest.to_string() },
            None => Tables { schema: None, prefix: prefix.to_string() },
        })
    }

    /// The quoted name of `table`, e.g. `` `drupal_users` `` or `` `otherdb`.`users` ``.
    /// `table` must be a constant or a validated field table name.
    pub fn t(&self, table: &str) -> String {
        match &self.schema {
            Some(schema) => format!("`{schema}`.`{}{table}`", self.prefix),
            None => format!("`{}{table}`", self.prefix),
        }
    }

    /// The unquoted prefixed name, as information_schema lists it.
    pub fn raw(&self, table: &str) -> String {
        format!("{}{table}", self.prefix)
    }

    /// The schema to search in information_schema: the prefix's, or the connection's database.
    pub fn schema_expr(&self) -> (&'static str, Option<String>) {
        match &self.schema {
            Some(schema) => ("?", Some(schema.clone())),
            None => ("DATABASE()", None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_quote_and_split_schema() {
        assert_eq!(Tables::new("").unwrap().t("users"), "`users`");
        assert_eq!(Tables::new("d_").unwrap().t("users"), "`d_users`");
        assert_eq!(Tables::new("other.p_").unwrap().t("users"), "`other`.`p_users`");
        assert!(Tables::new("x`; drop").is_err());
        assert!(Tables::new("a.b.c").is_err());
    }
}
