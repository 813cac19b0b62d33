//! Attribute paths (RFC 7644 §3.10 and the PATCH `path` grammar of §3.5.2):
//! `[urn:...:]attr[.sub]` and `attr[valFilter][.sub]`. Names compare case-insensitively.
//!
//! A URN-qualified name is split at its last ':' (schema URNs contain "2.0", so a '.' before
//! that colon is part of the URN); the sub-attribute follows the first '.' after it.

use std::fmt;

use crate::scim::error::ScimError;
use crate::scim::filter::{Filter, MAX_FILTER_LEN, PResult, Parser};

/// One attribute path. `urn` is the schema URN when the path was URN-qualified
/// (e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` for
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`).
/// `filter` is the value filter of a value path (`emails[type eq "work"]`), whose own paths are
/// relative to the element (`type`, `value`). Names keep the client's spelling; compare them with
/// `eq_ignore_ascii_case`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub filter: Option<Box<Filter>>,
    pub sub: Option<String>,
}

impl AttrPath {
    /// A plain path `attr`.
    pub fn new(attr: &str) -> AttrPath {
        AttrPath { urn: None, attr: attr.to_string(), filter: None, sub: None }
    }

    /// A path `attr.sub`.
    pub fn with_sub(attr: &str, sub: &str) -> AttrPath {
        AttrPath { sub: Some(sub.to_string()), ..AttrPath::new(attr) }
    }

    /// Whether the top-level attribute is `attr` (case-insensitive, URN ignored).
    pub fn is(&self, attr: &str) -> bool {
        self.attr.eq_ignore_ascii_case(attr)
    }

    /// Lowercase `attr` or `attr.sub`, without URN or filter, for lookups.
    pub fn key(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{}", self.attr, sub).to_ascii_lowercase(),
            None => self.attr.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Parses a PATCH `path`: `attrPath` or `valuePath ["." subAttr]`, optionally URN-qualified.
pub fn parse_path(input: &str) -> Result<AttrPath, ScimError> {
    parse_path_inner(input).map_err(ScimError::invalid_path)
}

fn parse_path_inner(input: &str) -> PResult<AttrPath> {
    if input.len() > MAX_FILTER_LEN {
        return Err(format!("path is too long (more than {MAX_FILTER_LEN} bytes)"));
    }
    if input.trim().is_empty() {
        return Err("path is empty".to_string());
    }
    let mut p = Parser::new(input);
    p.skip_ws();
    let path = p.attr_path()?;
    p.expect_end()?;
    Ok(path)
}

/// Whether `s` is a bare schema URN such as `urn:ietf:params:scim:schemas:core:2.0:User`.
///
/// Rule (the parser knows no schema list): `s` starts with `urn:` and the segment before its last
/// ':' is a version number (digits and dots, e.g. `2.0`), so the last segment names the resource
/// type rather than an attribute. Use [`split_schema_urn`] when the schema ids are known.
pub fn is_schema_urn(s: &str) -> bool {
    starts_with_urn(s) && s.rsplit_once(':').is_some_and(|(head, tail)| is_version_segment(head) && is_attr_name(tail))
}

/// Splits `s` into the longest id of `schemas` it starts with (case-insensitive) and the rest
/// after the following ':' (`""` when `s` is exactly the id).
pub fn split_schema_urn<'a>(s: &'a str, schemas: &[&str]) -> Option<(&'a str, &'a str)> {
    schemas
        .iter()
        .filter_map(|id| {
            let head = s.get(..id.len()).filter(|h| h.eq_ignore_ascii_case(id))?;
            let rest = s.get(id.len()..)?;
            match rest.strip_prefix(':') {
                Some(after) => Some((head, after)),
                None if rest.is_empty() => Some((head, rest)),
                None => None,
            }
        })
        .max_by_key(|(head, _)| head.len())
}

/// `ATTRNAME = ALPHA *(nameChar)`, also accepting a leading '$' for `$ref`.
pub(crate) fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_$".contains(c))
}

fn starts_with_urn(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Whether the last ':'-segment of `head` looks like a schema version (`2.0`).
fn is_version_segment(head: &str) -> bool {
    let last = head.rsplit(':').next().unwrap_or("");
    last.starts_with(|c: char| c.is_ascii_digit()) && last.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Splits a scanned name token into `(urn, attr, sub)`; the error is a message without position.
pub(crate) fn split_name(token: &str) -> PResult<(Option<String>, String, Option<String>)> {
    if token.is_empty() {
        return Err("expected an attribute name".to_string());
    }
    let (urn, rest) = match token.rsplit_once(':') {
        Some((head, tail)) if starts_with_urn(token) => {
            if is_version_segment(head) {
                return Err(format!("\"{token}\" is a schema URN, expected an attribute after it"));
            }
            (Some(head.to_string()), tail)
        }
        _ => (None, token),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((attr, sub)) => (attr, Some(sub)),
        None => (rest, None),
    };
    if !is_attr_name(attr) {
        return Err(format!("invalid attribute name \"{attr}\" in \"{token}\""));
    }
    if let Some(sub) = sub.filter(|s| !is_attr_name(s)) {
        return Err(format!("invalid sub-attribute name \"{sub}\" in \"{token}\""));
    }
    Ok((urn, attr.to_string(), sub.map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::filter::{CompareOp, parse_filter};
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn p(s: &str) -> AttrPath {
        parse_path(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) -> String {
        let e = parse_path(s).expect_err(s);
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidPath)));
        e.detail
    }

    fn filtered(attr: &str, filter: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.into(),
            filter: Some(Box::new(parse_filter(filter).unwrap())),
            sub: sub.map(Into::into),
        }
    }

    #[test]
    fn plain_and_sub_paths() {
        assert_eq!(p("userName"), AttrPath::new("userName"));
        assert_eq!(p("name.familyName"), AttrPath::with_sub("name", "familyName"));
        assert_eq!(p(" members "), AttrPath::new("members"));
        assert_eq!(p("members.$ref"), AttrPath::with_sub("members", "$ref"));
    }

    #[test]
    fn value_paths() {
        let members = p(r#"members[value eq "2819c223"]"#);
        assert_eq!(members, filtered("members", r#"value eq "2819c223""#, None));
        assert_eq!(
            members.filter.as_deref(),
            Some(&crate::scim::filter::Filter::Compare {
                path: AttrPath::new("value"),
                op: CompareOp::Eq,
                value: json!("2819c223"),
            })
        );
        assert_eq!(p(r#"emails[type eq "work"].value"#), filtered("emails", r#"type eq "work""#, Some("value")));
        assert_eq!(p(r#"emails[type eq "other"].Value"#), filtered("emails", r#"type eq "other""#, Some("Value")));
        assert_eq!(
            p(r#"addresses[type eq "work"].formatted"#),
            filtered("addresses", r#"type eq "work""#, Some("formatted"))
        );
        assert_eq!(
            p(r#"emails[ type eq "work" and primary eq true ]"#),
            filtered("emails", r#"type eq "work" and primary eq true"#, None)
        );
    }

    #[test]
    fn urn_paths() {
        let dept = p(&format!("{ENTERPRISE}:department"));
        assert_eq!(dept.urn.as_deref(), Some(ENTERPRISE));
        assert_eq!((dept.attr.as_str(), dept.sub), ("department", None));
        let given = p(&format!("{CORE_USER}:name.givenName"));
        assert_eq!(given.urn.as_deref(), Some(CORE_USER));
        assert_eq!((given.attr.as_str(), given.sub.as_deref()), ("name", Some("givenName")));
        let manager = p(&format!("{ENTERPRISE}:manager.value"));
        assert_eq!((manager.attr.as_str(), manager.sub.as_deref()), ("manager", Some("value")));
        let emails = p(&format!(r#"{CORE_USER}:emails[type eq "work"].value"#));
        assert_eq!(emails.urn.as_deref(), Some(CORE_USER));
        assert_eq!(emails.key(), "emails.value");
    }

    #[test]
    fn errors() {
        assert_eq!(err(""), "path is empty");
        assert!(err(CORE_USER).contains("schema URN"));
        assert!(err(ENTERPRISE).contains("schema URN"));
        assert!(err("urn:x:y:").contains("invalid attribute name"));
        assert!(err(r#"emails[type eq]"#).contains("needs a value"));
        assert!(err(r#"emails[type eq "work""#).contains(r#"expected "]""#));
        assert!(err("name..x").contains("invalid sub-attribute"));
        assert!(err("1abc").contains("invalid attribute name"));
        assert_eq!(err(r#"emails[type eq "work"] x"#), r#"unexpected "x" at position 23"#);
        assert!(err(r#"name.givenName[type eq "x"]"#).contains("cannot follow a sub-attribute"));
        assert!(err(r#"emails[type eq "work"]."#).contains("at position 23"));
        assert!(err(r#"emails[a[b pr]]"#).contains("nested value filters"));
        assert!(err(&"a".repeat(MAX_FILTER_LEN + 1)).contains("too long"));
    }

    #[test]
    fn helpers() {
        let path = AttrPath::with_sub("Name", "GivenName");
        assert!(path.is("name") && !path.is("nickName"));
        assert_eq!(path.key(), "name.givenname");
        assert_eq!(p(&format!(r#"{ENTERPRISE}:Manager"#)).key(), "manager");
        assert!(is_schema_urn(CORE_USER));
        assert!(is_schema_urn(&ENTERPRISE.to_uppercase()));
        assert!(is_schema_urn("urn:ietf:params:scim:schemas:core:2.0:Group"));
        assert!(!is_schema_urn(&format!("{ENTERPRISE}:department")));
        assert!(!is_schema_urn("userName"));
    }

    #[test]
    fn split_schema_urn_longest_match() {
        let schemas = [CORE_USER, ENTERPRISE, "urn:x", "urn:x:y"];
        assert_eq!(split_schema_urn(CORE_USER, &schemas), Some((CORE_USER, "")));
        let upper = format!("{}:employeeNumber", ENTERPRISE.to_uppercase());
        assert_eq!(split_schema_urn(&upper, &schemas), Some((&upper[..ENTERPRISE.len()], "employeeNumber")));
        assert_eq!(split_schema_urn("urn:x:y:z", &schemas), Some(("urn:x:y", "z")));
        assert_eq!(split_schema_urn("urn:xy", &schemas), None);
        assert_eq!(split_schema_urn("userName", &schemas), None);
    }

    #[test]
    fn display_round_trip() {
        let forms = [
            "userName".to_string(),
            "name.familyName".to_string(),
            r#"members[value eq "2819c223"]"#.to_string(),
            r#"emails[type eq "work" and value co "\"x\""].value"#.to_string(),
            format!("{ENTERPRISE}:department"),
            format!("{CORE_USER}:name.givenName"),
        ];
        for s in &forms {
            let path = p(s);
            assert_eq!(p(&path.to_string()), path, "{s}");
        }
        assert_eq!(p(r#"emails[TYPE EQ "work"].value"#).to_string(), r#"emails[TYPE eq "work"].value"#);
    }
}
