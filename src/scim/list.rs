//! Query parameters of a list request (RFC 7644 §3.4.2) and the ListResponse it answers with.

use crate::scim::error::ScimError;
use crate::scim::filter::{Filter, parse_filter};
use crate::scim::schema::{LIST_RESPONSE, SEARCH_REQUEST};
use serde_json::{Value, json};

/// A parsed list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub sort_by: Option<String>,
    pub descending: bool,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
    /// RFC 9865: `Some("")` asks for the first page of cursor pagination.
    pub cursor: Option<String>,
}

/// Page-size limits from the settings.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default_count: u64,
    pub max_count: u64,
}

/// Most names accepted in `attributes` or `excludedAttributes`. The User schema with the enterprise
/// extension has fewer than 100 attribute and sub-attribute paths; projecting every resource of a
/// page over a list costs names × attributes × resources, so an unbounded list is a CPU lever.
pub const MAX_ATTRIBUTE_NAMES: usize = 256;

fn split_list(name: &str, s: &str) -> Result<Vec<String>, ScimError> {
    let names: Vec<String> = s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if names.len() > MAX_ATTRIBUTE_NAMES {
        return Err(ScimError::invalid_value(format!(
            "{name} names {} attributes; at most {MAX_ATTRIBUTE_NAMES} are accepted",
            names.len()
        )));
    }
    Ok(names)
}

impl ListQuery {
    /// Parse query parameters (names compared case-insensitively).
    pub fn parse(params: &[(String, String)], limits: PageLimits) -> Result<ListQuery, ScimError> {
        let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            match get(name) {
                None | Some("") => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {v:?}"))),
            }
        };
        let filter = match get("filter") {
            Some(f) if !f.trim().is_empty() => Some(parse_filter(f)?),
            _ => None,
        };
        // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1, a negative count as 0.
        let start_index = number("startIndex")?.unwrap_or(1).max(1) as u64;
        let count = match number("count")? {
            Some(c) => (c.max(0) as u64).min(limits.max_count),
            None => limits.default_count.min(limits.max_count),
        };
        let descending = match get("sortOrder") {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!("sortOrder must be ascending or descending, not {o:?}")));
            }
        };
        let cursor = get("cursor").map(String::from);
        if cursor.is_some() {
            if get("startIndex").is_some_and(|s| !s.is_empty()) {
                return Err(ScimError::invalid_value("use either startIndex or cursor, not both"));
            }
            if number("count")?.is_some_and(|c| c > limits.max_count as i64) {
                return Err(ScimError::bad_request(
                    crate::scim::error::ScimType::InvalidCount,
                    format!("count may be at most {} with cursor pagination", limits.max_count),
                ));
            }
            if get("sortBy").is_some_and(|s| !s.is_empty()) {
                return Err(ScimError::invalid_value(
                    "cursor pagination returns resources in creation order; sortBy cannot be used with it",
                ));
            }
        }
        let attributes = get("attributes").map(|s| split_list("attributes", s)).transpose()?.unwrap_or_default();
        let excluded_attributes =
            get("excludedAttributes").map(|s| split_list("excludedAttributes", s)).transpose()?.unwrap_or_default();
        Ok(ListQuery {
            filter,
            start_index,
            count,
            sort_by: get("sortBy").map(String::from).filter(|s| !s.is_empty()),
            descending,
            attributes,
            excluded_attributes,
            cursor,
        })
    }

    /// Parse a `POST /.search` body (RFC 7644 §3.4.3): the same parameters as a JSON object.
    pub fn from_search(body: &Value, limits: PageLimits) -> Result<ListQuery, ScimError> {
        let Value::Object(obj) = body else {
            return Err(ScimError::invalid_syntax("a search request must be a JSON object"));
        };
        if let Some(schemas) = obj.get("schemas") {
            let ok = schemas.as_array().is_some_and(|s| s.iter().any(|v| v.as_str() == Some(SEARCH_REQUEST)));
            if !ok {
                return Err(ScimError::invalid_syntax(format!("schemas must contain {SEARCH_REQUEST}")));
            }
        }
        let mut params = Vec::new();
        for (key, value) in obj {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items)
                    if key.eq_ignore_ascii_case("attributes") || key.eq_ignore_ascii_case("excludedAttributes") =>
                {
                    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    names.ok_or_else(|| ScimError::invalid_value(format!("{key} must be a list of strings")))?.join(",")
                }
                Value::Null => continue,
                _ if key == "schemas" => continue,
                other => return Err(ScimError::invalid_value(format!("{key} cannot be {other}"))),
            };
            params.push((key.clone(), text));
        }
        ListQuery::parse(&params, limits)
    }

    /// The zero-based offset of the first result.
    pub fn offset(&self) -> u64 {
        self.start_index.saturating_sub(1)
    }
}

/// Build a ListResponse.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Build a cursor-paginated ListResponse (RFC 9865): no startIndex, `nextCursor` while more remain.
pub fn cursor_response(total: u64, resources: Vec<Value>, next: Option<String>) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if let (Some(next), Some(obj)) = (next, body.as_object_mut()) {
        obj.insert("nextCursor".into(), Value::from(next));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits { default_count: 100, max_count: 1000 };

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn out_of_range_paging_is_clamped_as_the_rfc_says() {
        let q = ListQuery::parse(&p(&[("startIndex", "0"), ("count", "-5")]), LIMITS).unwrap();
        assert_eq!((q.start_index, q.count), (1, 0));
        let q = ListQuery::parse(&p(&[("count", "5000")]), LIMITS).unwrap();
        assert_eq!(q.count, 1000);
        assert!(ListQuery::parse(&p(&[("count", "ten")]), LIMITS).is_err());
        assert!(ListQuery::parse(&p(&[("sortOrder", "sideways")]), LIMITS).is_err());
    }

    #[test]
    fn attribute_lists_are_bounded() {
        let names = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>().join(",");
        let q = ListQuery::parse(&p(&[("attributes", &names(MAX_ATTRIBUTE_NAMES))]), LIMITS).unwrap();
        assert_eq!(q.attributes.len(), MAX_ATTRIBUTE_NAMES);
        for key in ["attributes", "excludedAttributes"] {
            let e = ListQuery::parse(&p(&[(key, &names(MAX_ATTRIBUTE_NAMES + 1))]), LIMITS).unwrap_err();
            assert_eq!((e.status, e.scim_type), (400, Some(crate::scim::error::ScimType::InvalidValue)));
            assert!(e.detail.starts_with(key), "{}", e.detail);
        }
    }
}
