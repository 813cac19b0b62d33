//! Table names with Drupal's prefix applied and quoted, built only from constants and validated
//! prefixes, so no client input can ever reach an identifier.
//!
//! A site has one default prefix and, on Drupal 7 (and 8.x–9.x, deprecated), optionally a prefix
//! of its own for some tables: the shared-users multisite keeps `users`, `role`, `sessions`, … in
//! one place (`'users' => 'shared_'`, or another database: `'users' => 'shareddb.'`) for every
//! site. Each table is resolved with its own prefix, schema included.

use crate::drupal::error::StoreError;
use std::collections::{BTreeMap, BTreeSet};

/// Longest prefix accepted (MariaDB identifiers are at most 64 characters).
const MAX_PREFIX_LEN: usize = 64;

/// One validated prefix: an optional schema (database) and the text put before the table name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Prefix {
    /// Schema (database) the tables live in when the prefix names another one (`otherdb.`).
    schema: Option<String>,
    prefix: String,
}

impl Prefix {
    /// Validate a Drupal table prefix (`''`, `drupal_`, `otherdb.`, `otherdb.pfx_`); `what`
    /// names it in the error (`table prefix`, `table prefix of users`).
    fn parse(text: &str, what: &str) -> Result<Prefix, StoreError> {
        let ok = text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$')
            && text.matches('.').count() <= 1
            && text.len() <= MAX_PREFIX_LEN;
        if !ok {
            return Err(StoreError::Invalid(format!(
                "{what} {text:?} may only contain letters, digits, '_', '$' and one '.' (at most \
                 {MAX_PREFIX_LEN} characters)"
            )));
        }
        Ok(match text.split_once('.') {
            // `.pfx_` would quote as `` ``.`pfx_users` ``: a schema must have a name.
            Some(("", _)) => {
                return Err(StoreError::Invalid(format!(
                    "{what} {text:?} has nothing before the '.': write `database.` or `database.prefix_`"
                )));
            }
            Some((schema, rest)) => Prefix { schema: Some(schema.to_string()), prefix: rest.to_string() },
            None => Prefix { schema: None, prefix: text.to_string() },
        })
    }
}

/// Quoted, prefixed table names for one site.
#[derive(Debug, Clone)]
pub struct Tables {
    default: Prefix,
    /// Tables with a prefix of their own (Drupal 7's per-table prefix array), by table name.
    per_table: BTreeMap<String, Prefix>,
}

impl Tables {
    /// One prefix for every table (`''`, `drupal_`, `otherdb.`, `otherdb.pfx_`).
    pub fn new(prefix: &str) -> Result<Tables, StoreError> {
        Tables::with_overrides(prefix, &BTreeMap::new())
    }

    /// A default prefix plus per-table prefixes (`users` → `shared_`), as in Drupal 7's
    /// `'prefix' => array('default' => 'main_', 'users' => 'shared_', …)`. Every prefix is
    /// validated like the default; table names must be `[a-z0-9_]+`, and `default` is not a
    /// table name (it is the `default` argument).
    pub fn with_overrides(default: &str, per_table: &BTreeMap<String, String>) -> Result<Tables, StoreError> {
        let default = Prefix::parse(default, "table prefix")?;
        let mut overrides = BTreeMap::new();
        for (table, prefix) in per_table {
            let valid_name = !table.is_empty()
                && table.len() <= MAX_PREFIX_LEN
                && table.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_name {
                return Err(StoreError::Invalid(format!(
                    "per-table prefix for {table:?}: a table name may only contain a-z, 0-9 and '_'"
                )));
            }
            if table == "default" {
                return Err(StoreError::Invalid(
                    "per-table prefixes cannot name `default`: that is the table prefix itself".into(),
                ));
            }
            overrides.insert(table.clone(), Prefix::parse(prefix, &format!("table prefix of {table}"))?);
        }
        Ok(Tables { default, per_table: overrides })
    }

    /// The prefix `table` is resolved with.
    ///
    /// drupal-scim's own tables follow the Drupal table they extend unless named explicitly:
    /// `scim_user` that of `users`, `scim_group` that of `role`. When sites share their accounts,
    /// they must share the accounts' SCIM state (externalId, soft-delete) too — otherwise each
    /// site would link, re-create or resurrect the same shared account on its own.
    fn prefix_of(&self, table: &str) -> &Prefix {
        if let Some(own) = self.per_table.get(table) {
            return own;
        }
        let extended = match table {
            "scim_user" => self.per_table.get("users"),
            "scim_group" => self.per_table.get("role"),
            _ => None,
        };
        extended.unwrap_or(&self.default)
    }

    /// The quoted name of `table`, e.g. `` `drupal_users` `` or `` `otherdb`.`users` ``.
    /// `table` must be a constant or a validated field table name.
    pub fn t(&self, table: &str) -> String {
        let p = self.prefix_of(table);
        match &p.schema {
            Some(schema) => format!("`{schema}`.`{}{table}`", p.prefix),
            None => format!("`{}{table}`", p.prefix),
        }
    }

    /// The unquoted prefixed name, as information_schema lists it (in [`Tables::schema_of`]).
    pub fn raw(&self, table: &str) -> String {
        format!("{}{table}", self.prefix_of(table).prefix)
    }

    /// The schema (database) `table` lives in when its prefix names one; `None`: the
    /// connection's database.
    pub fn schema_of(&self, table: &str) -> Option<&str> {
        self.prefix_of(table).schema.as_deref()
    }

    /// Every schema a prefix names explicitly (sorted, each once), so information_schema
    /// lookups can cover them besides the connection's database.
    pub fn schemas(&self) -> Vec<String> {
        let all = std::iter::once(&self.default).chain(self.per_table.values());
        all.filter_map(|p| p.schema.clone()).collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// The tables that have a prefix of their own.
    pub fn overridden(&self) -> impl Iterator<Item = &str> {
        self.per_table.keys().map(String::as_str)
    }

    /// The logical name of a table of the default prefix's schema, from its listed name.
    pub fn unprefixed<'a>(&self, listed: &'a str) -> Option<&'a str> {
        listed.strip_prefix(self.default.prefix.as_str())
    }

    /// The prefix `table` is resolved with, as it would be written in settings.php
    /// (`shared_`, `shareddb.`), for messages.
    pub fn prefix_text(&self, table: &str) -> String {
        let p = self.prefix_of(table);
        match &p.schema {
            Some(schema) => format!("{schema}.{}", p.prefix),
            None => p.prefix.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn prefixes_quote_and_split_schema() {
        assert_eq!(Tables::new("").unwrap().t("users"), "`users`");
        assert_eq!(Tables::new("d_").unwrap().t("users"), "`d_users`");
        assert_eq!(Tables::new("other.p_").unwrap().t("users"), "`other`.`p_users`");
        assert_eq!(Tables::new("other.").unwrap().t("users"), "`other`.`users`");
        assert!(Tables::new("x`; drop").is_err());
        assert!(Tables::new("a.b.c").is_err());
        assert!(Tables::new(".p_").is_err());
        assert!(Tables::new(&"p".repeat(65)).is_err());
    }

    #[test]
    fn per_table_prefix_applies_to_its_table_only() {
        let t = Tables::with_overrides("main_", &map(&[("users", "shared_"), ("sessions", "shared_")])).unwrap();
        assert_eq!(t.t("users"), "`shared_users`");
        assert_eq!(t.raw("users"), "shared_users");
        assert_eq!(t.t("sessions"), "`shared_sessions`");
        assert_eq!(t.t("users_roles"), "`main_users_roles`");
        assert_eq!(t.raw("config"), "main_config");
        assert_eq!(t.prefix_text("users"), "shared_");
        assert_eq!(t.prefix_text("node"), "main_");
    }

    #[test]
    fn per_table_prefix_may_name_another_database() {
        let t = Tables::with_overrides("main_", &map(&[("users", "shareddb."), ("role", "shareddb.pfx_")])).unwrap();
        assert_eq!(t.t("users"), "`shareddb`.`users`");
        assert_eq!(t.raw("users"), "users");
        assert_eq!(t.schema_of("users"), Some("shareddb"));
        assert_eq!(t.t("role"), "`shareddb`.`pfx_role`");
        assert_eq!(t.raw("role"), "pfx_role");
        assert_eq!(t.prefix_text("role"), "shareddb.pfx_");
        assert_eq!(t.t("node"), "`main_node`");
        assert_eq!(t.schema_of("node"), None);
    }

    #[test]
    fn schemas_lists_each_explicit_schema_once() {
        assert!(Tables::new("p_").unwrap().schemas().is_empty());
        assert_eq!(Tables::new("other.p_").unwrap().schemas(), vec!["other".to_string()]);
        let t = Tables::with_overrides(
            "site1.",
            &map(&[("users", "shared.x_"), ("role", "shared."), ("sessions", "site1.s_"), ("authmap", "a_")]),
        )
        .unwrap();
        assert_eq!(t.schemas(), vec!["shared".to_string(), "site1".to_string()]);
        assert_eq!(t.schema_of("authmap"), None);
        assert_eq!(t.schema_of("variable"), Some("site1"));
    }

    #[test]
    fn bridge_tables_follow_users_and_role() {
        let t = Tables::with_overrides("main_", &map(&[("users", "shareddb."), ("role", "shared_")])).unwrap();
        assert_eq!(t.t("scim_user"), "`shareddb`.`scim_user`");
        assert_eq!(t.schema_of("scim_user"), Some("shareddb"));
        assert_eq!(t.t("scim_group"), "`shared_scim_group`");
        // Without an override of users/role they stay with the default prefix.
        let t = Tables::with_overrides("main_", &map(&[("sessions", "shared_")])).unwrap();
        assert_eq!(t.t("scim_user"), "`main_scim_user`");
        assert_eq!(t.t("scim_group"), "`main_scim_group`");
    }

    #[test]
    fn bridge_tables_named_explicitly_win() {
        let t = Tables::with_overrides(
            "main_",
            &map(&[("users", "shared_"), ("role", "shared_"), ("scim_user", "main_"), ("scim_group", "other.")]),
        )
        .unwrap();
        assert_eq!(t.t("scim_user"), "`main_scim_user`");
        assert_eq!(t.t("scim_group"), "`other`.`scim_group`");
    }

    #[test]
    fn overrides_are_validated_like_the_default() {
        let err = Tables::with_overrides("", &map(&[("users", "x`; drop")])).unwrap_err().to_string();
        assert!(err.contains("table prefix of users"), "{err}");
        assert!(Tables::with_overrides("", &map(&[("users", "a.b.c")])).is_err());
        assert!(Tables::with_overrides("", &map(&[("users", ".x_")])).is_err());
        assert!(Tables::with_overrides("", &map(&[("users", &"p".repeat(65))])).is_err());
        assert!(Tables::with_overrides("bad prefix", &map(&[("users", "ok_")])).is_err());
        assert!(Tables::with_overrides("", &map(&[("users", "")])).is_ok());
    }

    #[test]
    fn override_table_names_must_be_plain() {
        for bad in ["Users", "users`", "a.b", "", "user roles", "default"] {
            assert!(Tables::with_overrides("", &map(&[(bad, "p_")])).is_err(), "{bad:?} accepted");
        }
        assert!(Tables::with_overrides("", &map(&[("field_data_field_x", "p_"), ("cache_2", "p_")])).is_ok());
    }
}
