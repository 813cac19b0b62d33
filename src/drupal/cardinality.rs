//! How many values a mapped field allows. SCIM attributes drupal-scim maps are single-valued:
//! a field that allows more would be shown as its first value and written back as one, so a
//! PATCH of `active` alone would delete the others. Such a mapping is refused at start-up and by
//! `drupal-scim check`, with the line of drupal_mapping.toml. Where the field's storage settings
//! cannot be found or read, that is said too: drupal-scim does not guess.

use crate::mapping::model::AttributeMap;

/// What the site says about a field's number of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
    /// The storage settings hold this cardinality (`-1`: unlimited).
    Stated(i64),
    /// No storage settings: `where` names what is missing.
    Missing(String),
    /// Storage settings without a readable cardinality: `where` names them.
    Unreadable(String),
}

/// The problem with mapping `map` (a field mapping) to a field of `cardinality`, if any.
pub fn problem(map: &AttributeMap, field: &str, cardinality: &Cardinality) -> Option<String> {
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
    use crate::mapping::model::{Mapping, Target};

    fn field_map() -> AttributeMap {
        let text = "version = 1\n[[users.attribute]]\nscim = \"userName\"\ndrupal = \"name\"\n\n[[users.attribute]]\nscim = \"title\"\ndrupal = \"field_title\"\n";
        let mapping = Mapping::parse(text).unwrap();
        mapping.users.attributes.into_iter().find(|a| a.target == Target::Field("field_title".into())).unwrap()
    }

    #[test]
    fn only_single_value_fields_are_mapped() {
        let map = field_map();
        assert_eq!(problem(&map, "field_title", &Cardinality::Stated(1)), None);
        let unlimited = problem(&map, "field_title", &Cardinality::Stated(-1)).unwrap();
        assert!(unlimited.starts_with("line 7: field_title allows any number of values (cardinality -1, unlimited) but SCIM maps it to the single-valued attribute title; drupal-scim never truncates"), "{unlimited}");
        let three = problem(&map, "field_title", &Cardinality::Stated(3)).unwrap();
        assert!(three.contains("allows 3 values (cardinality 3)"), "{three}");
        assert!(problem(&map, "field_title", &Cardinality::Stated(0)).unwrap().contains("does not define"));
        let missing =
            problem(&map, "field_title", &Cardinality::Missing("config field.storage.user.field_title".into()));
        assert!(missing.unwrap().contains("config field.storage.user.field_title is missing"));
    }
}
