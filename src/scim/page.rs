//! A ListResponse written as its resources are rendered.
//!
//! A rendered User is a tree of `serde_json::Value`s about six times the size of its JSON text
//! (maps, small strings, one allocation each). Collecting a page of 100 before serialising it
//! held ~0.5 MiB per request, so 32 concurrent pages took the server's resident set up by more
//! than 16 MiB. Here each resource is serialised as soon as it is added and its tree dropped:
//! a page holds one tree and the text of the ones before it.
//!
//! The text is byte for byte what serialising `list::list_response` or `list::cursor_response`
//! gives (serde_json writes an object's keys in sorted order: `Resources` first).

use crate::scim::schema::LIST_RESPONSE;
use serde_json::Value;

/// Where a list's resources go as they are rendered: a [`PageWriter`], or a `Vec` where the
/// caller still needs the values (the root `/.search` merges two lists).
pub trait Resources {
    /// The page will hold `count` resources (known once its rows are read).
    fn expect(&mut self, count: usize);
    fn add(&mut self, resource: Value);
}

impl Resources for Vec<Value> {
    fn expect(&mut self, count: usize) {
        self.reserve(count);
    }

    fn add(&mut self, resource: Value) {
        self.push(resource);
    }
}

/// How a page is placed in its list: by `startIndex`, or by cursor (RFC 9865) with the cursor of
/// the next page while more remain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    Index(u64),
    Cursor(Option<String>),
}

/// The JSON text of one ListResponse, built resource by resource.
#[derive(Debug)]
pub struct PageWriter {
    json: Vec<u8>,
    items: usize,
    /// How many resources the page holds ([`Resources::expect`]), to size the text after the
    /// first.
    expected: usize,
}

impl Default for PageWriter {
    fn default() -> PageWriter {
        PageWriter::new()
    }
}

impl PageWriter {
    pub fn new() -> PageWriter {
        let mut json = Vec::with_capacity(256);
        json.extend_from_slice(b"{\"Resources\":[");
        PageWriter { json, items: 0, expected: 0 }
    }

    /// Close the page: the whole ListResponse, as UTF-8 JSON text.
    pub fn finish(mut self, total: u64, paging: &Paging) -> Vec<u8> {
        self.json.push(b']');
        self.member("itemsPerPage", &Value::from(self.items));
        if let Paging::Cursor(Some(next)) = paging {
            self.member("nextCursor", &Value::from(next.as_str()));
        }
        self.member("schemas", &Value::from(vec![LIST_RESPONSE]));
        if let Paging::Index(start_index) = paging {
            self.member("startIndex", &Value::from(*start_index));
        }
        self.member("totalResults", &Value::from(total));
        self.json.push(b'}');
        self.json
    }

    fn member(&mut self, key: &str, value: &Value) {
        self.json.extend_from_slice(b",\"");
        self.json.extend_from_slice(key.as_bytes());
        self.json.extend_from_slice(b"\":");
        write_value(&mut self.json, value);
    }
}

impl Resources for PageWriter {
    fn expect(&mut self, count: usize) {
        self.expected = count;
    }

    fn add(&mut self, resource: Value) {
        if self.items > 0 {
            self.json.push(b',');
        }
        let before = self.json.len();
        write_value(&mut self.json, &resource);
        self.items += 1;
        if self.items == 1 {
            // Size the text once from the first resource rather than doubling it as it grows.
            let each = self.json.len() - before + 1;
            self.json.reserve(each.saturating_mul(self.expected.saturating_sub(1)) + 128);
        }
    }
}

/// Serialise a value onto the end of the buffer. Writing into a `Vec` cannot fail, and a
/// `Value`'s keys are strings, so serde_json has no error to give here.
fn write_value(out: &mut Vec<u8>, value: &Value) {
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::list::{cursor_response, list_response};
    use serde_json::json;

    fn resources(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({"id": format!("id-{i}"), "userName": format!("u{i}@example.com"), "active": i % 2 == 0,
                       "name": {"givenName": "Ünïcode \"quoted\"", "familyName": "x"}, "emails": [{"value": "a@b"}]})
            })
            .collect()
    }

    fn written(items: &[Value], total: u64, paging: &Paging) -> String {
        let mut page = PageWriter::new();
        page.expect(items.len());
        for r in items {
            page.add(r.clone());
        }
        String::from_utf8(page.finish(total, paging)).unwrap()
    }

    #[test]
    fn a_written_page_is_the_same_text_as_the_built_one() {
        for n in [0, 1, 3, 100] {
            let items = resources(n);
            assert_eq!(
                written(&items, 1234, &Paging::Index(7)),
                list_response(1234, 7, items.clone()).to_string(),
                "{n} resources, startIndex"
            );
            assert_eq!(
                written(&items, 5, &Paging::Cursor(Some("next/+=".into()))),
                cursor_response(5, items.clone(), Some("next/+=".into())).to_string(),
                "{n} resources, cursor"
            );
            assert_eq!(
                written(&items, 5, &Paging::Cursor(None)),
                cursor_response(5, items, None).to_string(),
                "{n} resources, last cursor page"
            );
        }
    }

    #[test]
    fn a_written_page_is_a_list_response() {
        let body: Value = serde_json::from_str(&written(&resources(2), 2, &Paging::Index(1))).unwrap();
        assert_eq!(body["schemas"], json!([LIST_RESPONSE]));
        assert_eq!((body["itemsPerPage"].as_u64(), body["Resources"][1]["id"].as_str()), (Some(2), Some("id-1")));
    }
}
