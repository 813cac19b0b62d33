//! The live-database half of the mapping's validation: drupal_mapping.toml checked against what
//! the site says about itself ([`SiteFacts`]). Every problem is reported with its line, all of
//! them at once; the columns' lengths become each attribute's `max_len`. The store only finds
//! facts: deciding whether the mapping fits them is the mapping's job.

use crate::drupal::db::Db;
use crate::drupal::password::PasswordScheme;
use crate::drupal::schema::{Cardinality, Release, SiteError, SiteFacts};
use crate::drupal::site::{Site, SiteChoices};
use crate::drupal::tables::Tables;
use crate::mapping::model::{AttributeMap, CorePin, Mapping, PasswordHash, Target};

/// What the site makes of a mapping that fits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Longest value of each attribute's column, in the order of `users.attributes`.
    pub max_lens: Vec<Option<usize>>,
    /// The hash of passwords SCIM sets.
    pub password: PasswordScheme,
}

/// Inspect the site, check the mapping against it and fill in each attribute's `max_len`:
/// the site as the store sees it, or every problem found.
pub async fn open_site(db: &Db, mapping: &mut Mapping) -> Result<Site, SiteError> {
    let tables = Tables::with_overrides(&mapping.table_prefix, &mapping.table_prefixes)?;
    let fields = mapping.field_names();
    let (schema, facts) = Site::inspect(db, tables, &fields).await?;
    let checked = check(mapping, &facts).map_err(SiteError::Mismatch)?;
    for (map, max_len) in mapping.users.attributes.iter_mut().zip(&checked.max_lens) {
        map.max_len = *max_len;
    }
    let choices = SiteChoices {
        langcode: mapping.langcode.clone(),
        timezone: mapping.timezone.clone(),
        password: checked.password,
        fields,
    };
    Ok(Site::new(schema, facts, choices))
}

/// Check the mapping against the site's facts.
pub fn check(mapping: &Mapping, facts: &SiteFacts) -> Result<Checked, Vec<String>> {
    match (mapping.core, facts.release) {
        (CorePin::Drupal8Plus, Release::Drupal7) => {
            return Err(vec![
                "drupal_mapping.toml says core = \"10\" (Drupal 8–11), but this is a Drupal 7 database (a `variable` table, no `config` table): set core = \"7\" or \"auto\"".into(),
            ]);
        }
        (CorePin::Drupal7, Release::Drupal8To10 | Release::Drupal11) => {
            return Err(vec![format!(
                "drupal_mapping.toml says core = \"7\", but this is not a Drupal 7 database (no `variable` table, or a `config` table: Drupal 8–11), with table_prefix {:?}",
                mapping.table_prefix
            )]);
        }
        _ => {}
    }
    // What is wrong with the site whatever the mapping says comes first: all in one report.
    let mut problems = facts.problems.clone();
    let mut max_lens = Vec::with_capacity(mapping.users.attributes.len());
    for map in &mapping.users.attributes {
        let found = match &map.target {
            Target::Column(c) => facts.columns.get(c).cloned().unwrap_or(Ok(None)),
            Target::Field(field) => match facts.fields.get(field) {
                Some(Ok(field)) => Ok(field.max_len),
                Some(Err(why)) => Err(why.clone()),
                None => Err(format!("field {field} was not inspected")),
            },
        };
        match found {
            Ok(max_len) => max_lens.push(max_len),
            Err(why) => {
                problems.push(format!("line {}: {why}", map.line));
                max_lens.push(None);
            }
        }
    }
    for map in &mapping.users.attributes {
        let Target::Field(field) = &map.target else { continue };
        // A field the site lacks was reported above.
        if let Some(Ok(found)) = facts.fields.get(field) {
            problems.extend(cardinality_problem(map, field, &found.cardinality));
        }
    }
    let bcrypt = match mapping.password_hash {
        PasswordHash::Bcrypt => {
            if let Some(why) = facts.password.bcrypt_refusal {
                problems.push(format!("password_hash = \"bcrypt\": {why}; use \"auto\""));
            }
            true
        }
        PasswordHash::Phpass => false,
        PasswordHash::Auto => facts.password.bcrypt_by_default,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let password = if bcrypt {
        PasswordScheme::Bcrypt { cost: mapping.bcrypt_cost }
    } else {
        PasswordScheme::PhpassSha512 { count_log2: facts.password.phpass_count_log2 }
    };
    Ok(Checked { max_lens, password })
}

/// The problem with mapping `map` (a field mapping) to a field of `cardinality`, if any.
/// SCIM attributes drupal-scim maps are single-valued: a field that allows more would be shown
/// as its first value and written back as one, so a PATCH of `active` alone would delete the
/// others. Where the field's storage settings cannot be found or read, that is said too:
/// drupal-scim does not guess.
fn cardinality_problem(map: &AttributeMap, field: &str, cardinality: &Cardinality) -> Option<String> {
    let line = map.line;
    let scim = &map.scim_text;
    let allows = match cardinality {
        Cardinality::Stated(1) => return None,
        Cardinality::Stated(-1) => "any number of values (cardinality -1, unlimited)".to_string(),
        Cardinality::Stated(n) if *n > 1 => format!("{n} values (cardinality {n})"),
        Cardinality::Stated(n) => {
            return Some(format!(
                "line {line}: {field} has cardinality {n}, which Drupal does not define (1, more, or -1 for unlimited)"
            ));
        }
        Cardinality::Missing(what) => {
            return Some(format!(
                "line {line}: {field}: {what} is missing, so drupal-scim cannot tell how many values the field allows (it maps only single-value fields and does not guess)"
            ));
        }
        Cardinality::Unreadable(what) => {
            return Some(format!(
                "line {line}: {field}: {what} holds no readable cardinality, so drupal-scim cannot tell how many values the field allows (it maps only single-value fields and does not guess)"
            ));
        }
    };
    Some(format!(
        "line {line}: {field} allows {allows} but SCIM maps it to the single-valued attribute {scim}; drupal-scim never truncates a field, so it cannot map this one: set the field's \"Allowed number of values\" to 1 in Drupal, or map a single-value field"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_map() -> AttributeMap {
        let text = "version = 1\n[[users.attribute]]\nscim = \"userName\"\ndrupal = \"name\"\n\n[[users.attribute]]\nscim = \"title\"\ndrupal = \"field_title\"\n";
        let mapping = Mapping::parse(text).unwrap();
        mapping.users.attributes.into_iter().find(|a| a.target == Target::Field("field_title".into())).unwrap()
    }

    #[test]
    fn only_single_value_fields_are_mapped() {
        let map = field_map();
        assert_eq!(cardinality_problem(&map, "field_title", &Cardinality::Stated(1)), None);
        let unlimited = cardinality_problem(&map, "field_title", &Cardinality::Stated(-1)).unwrap();
        assert!(unlimited.starts_with("line 7: field_title allows any number of values (cardinality -1, unlimited) but SCIM maps it to the single-valued attribute title; drupal-scim never truncates"), "{unlimited}");
        let three = cardinality_problem(&map, "field_title", &Cardinality::Stated(3)).unwrap();
        assert!(three.contains("allows 3 values (cardinality 3)"), "{three}");
        assert!(cardinality_problem(&map, "field_title", &Cardinality::Stated(0)).unwrap().contains("does not define"));
        let missing = cardinality_problem(
            &map,
            "field_title",
            &Cardinality::Missing("config field.storage.user.field_title".into()),
        );
        assert!(missing.unwrap().contains("config field.storage.user.field_title is missing"));
    }
}
