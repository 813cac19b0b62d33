//! The parsers without a database: the fuzz seed corpus replayed through the fuzz targets' own
//! checks, and property tests of the filter/path printer. No fuzzer needed, so CI runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/src/checks.rs"]
mod checks;

use drupal_scim::scim::filter::{CompareOp, Filter, parse_filter};
use drupal_scim::scim::path::{AttrPath, parse_path};
use proptest::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

/// The files of `fuzz/corpus/<target>`, sorted, with their names.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{target}: the seed corpus is missing");
    files
}

/// Seeds named `bad-…` are inputs that must be refused; every other seed must be accepted.
fn must_be_refused(name: &str) -> bool {
    name.starts_with("bad-")
}

#[test]
fn every_filter_seed_parses_round_trips_and_evaluates_or_is_refused_as_named() {
    for (name, bytes) in corpus("filter") {
        let text = std::str::from_utf8(&bytes).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
        let parsed = checks::check_filter(text);
        assert_eq!(parsed.is_none(), must_be_refused(&name), "filter seed {name}: {text:?}");
    }
}

#[test]
fn every_path_seed_parses_and_round_trips_or_is_refused_as_named() {
    for (name, bytes) in corpus("path") {
        let text = std::str::from_utf8(&bytes).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
        let parsed = checks::check_path(text);
        assert_eq!(parsed.is_none(), must_be_refused(&name), "path seed {name}: {text:?}");
    }
}

#[test]
fn every_patch_seed_applies_without_panic_or_is_refused_as_named() {
    for (name, bytes) in corpus("patch") {
        // Reproducers found by the structured generator are stored as the JSON body they built.
        let body: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("patch seed {name} is not JSON: {e}"));
        let applied = checks::check_patch_body(&body);
        if must_be_refused(&name) {
            assert_eq!(applied, [false, false], "patch seed {name} applied");
        } else {
            assert!(applied.contains(&true), "patch seed {name} applies to neither a User nor a Group");
        }
    }
}

#[test]
fn every_resource_seed_normalises_without_panic_or_is_refused_as_named() {
    for (name, bytes) in corpus("resource") {
        let body: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("resource seed {name} is not JSON: {e}"));
        let [user, group] = checks::check_resource_body(&body);
        if must_be_refused(&name) {
            assert!(!user, "resource seed {name} accepted as a User");
        } else {
            assert!(user || group, "resource seed {name} refused for Users and Groups");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// parse(print(ast)) == ast over generated ASTs

const URNS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
    "urn:example:custom:2.0:Ext",
    "URN:X.Y:Z",
];

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "name",
            "emails",
            "members",
            "displayName",
            "active",
            "externalId",
            "id",
            "meta",
            "title",
            "type",
            "value",
            "primary",
            "givenName",
            "familyName",
            "lastModified",
            "employeeNumber",
            "manager",
            "$ref",
            "x-y_z9",
            "A",
            // Keywords are legal attribute names.
            "not",
            "and",
            "or",
            "pr",
            "eq",
            "true",
            "null",
        ])
        .prop_map(String::from),
        "[a-zA-Z$][a-zA-Z0-9_$-]{0,10}",
    ]
}

/// `[urn:]attr[.sub]`, no value filter.
fn plain_path() -> BoxedStrategy<AttrPath> {
    (prop::option::weighted(0.2, prop::sample::select(URNS)), attr_name(), prop::option::of(attr_name()))
        .prop_map(|(urn, attr, sub)| AttrPath { urn: urn.map(String::from), attr, filter: None, sub })
        .boxed()
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "\"",
            "\\",
            "\\\"",
            "a\"b\\c",
            "é",
            "Zoë 日本",
            "😀",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "\u{2028}",
            "' OR 1=1 --",
            "%",
            "_",
            "]",
            ")",
            "\" or a pr",
            "\\u0041",
        ])
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

/// A filter without value brackets (what may stand inside `[...]`) over paths from `path`.
fn filter_over(path: BoxedStrategy<AttrPath>, leaf_extra: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, op(), literal()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        leaf_extra,
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

fn bracket_free_filter() -> BoxedStrategy<Filter> {
    let no_extra = plain_path().prop_map(Filter::Present).boxed();
    filter_over(plain_path(), no_extra)
}

/// A PATCH path: plain, or `attr[filter][.sub]`. In a filter term (`sub_required`) a value
/// filter must be followed by a sub-attribute: `attr[filter]` alone is a `Filter::ValuePath`.
fn top_path(sub_required: bool) -> BoxedStrategy<AttrPath> {
    let sub = if sub_required { attr_name().prop_map(Some).boxed() } else { prop::option::of(attr_name()).boxed() };
    prop_oneof![
        3 => plain_path(),
        1 => (prop::option::weighted(0.2, prop::sample::select(URNS)), attr_name(), bracket_free_filter(), sub)
            .prop_map(|(urn, attr, f, sub)| AttrPath { urn: urn.map(String::from), attr, filter: Some(Box::new(f)), sub }),
    ]
    .boxed()
}

fn filter() -> BoxedStrategy<Filter> {
    let value_path = ((prop::option::weighted(0.2, prop::sample::select(URNS)), attr_name()), bracket_free_filter())
        .prop_map(|((urn, attr), f)| Filter::ValuePath {
            path: AttrPath { urn: urn.map(String::from), attr, filter: None, sub: None },
            filter: Box::new(f),
        })
        .boxed();
    filter_over(top_path(true), value_path)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_printed_filter_parses_back_to_the_same_ast(ast in filter()) {
        let printed = ast.to_string();
        let again = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {}", e.detail)))?;
        prop_assert_eq!(&again, &ast, "printed as {:?}", printed);
        prop_assert_eq!(again.to_string(), printed.clone());
        checks::check_filter(&printed);
    }

    #[test]
    fn a_printed_path_parses_back_to_the_same_path(path in top_path(false)) {
        let printed = path.to_string();
        let again = parse_path(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {}", e.detail)))?;
        prop_assert_eq!(again, path, "printed as {:?}", printed);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parsers(text in any::<String>()) {
        checks::check_filter(&text);
        checks::check_path(&text);
    }
}
