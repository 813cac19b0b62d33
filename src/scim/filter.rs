//! SCIM filters (RFC 7644 §3.4.2.2): AST, parser, printer and in-memory evaluation.
//!
//! The parser is a hand-written recursive descent over a byte cursor ([`Parser`]), shared with
//! the PATCH path parser in [`crate::scim::path`]. Error positions are 0-based character offsets.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::scim::error::ScimError;
use crate::scim::path::{AttrPath, split_name};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The filter AST. `Compare.value` is the JSON literal of the filter (string, number, true, false, null).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: serde_json::Value,
    },
    /// `attr[inner]` used as a whole term: true when some element of multi-valued `attr` matches `inner`.
    /// `path.filter` is `None` here; `path.sub` is `None`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// Longest filter (or PATCH path) accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and value brackets accepted.
pub const MAX_FILTER_DEPTH: usize = 32;
/// Most comparison / presence / value-path terms accepted in one filter.
pub const MAX_FILTER_TERMS: usize = 200;

const OPERATORS: &str = "eq, ne, co, sw, ew, gt, ge, lt, le, pr";

/// Parses a SCIM filter such as `userName eq "bjensen" and emails[type eq "work"] pr`.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    parse_filter_inner(input).map_err(ScimError::invalid_filter)
}

fn parse_filter_inner(input: &str) -> PResult<Filter> {
    if input.len() > MAX_FILTER_LEN {
        return Err(format!("filter is too long (more than {MAX_FILTER_LEN} bytes)"));
    }
    if input.trim().is_empty() {
        return Err("filter is empty".to_string());
    }
    let mut p = Parser::new(input);
    let filter = p.filter()?;
    p.expect_end()?;
    Ok(filter)
}

impl CompareOp {
    /// The lowercase wire spelling, e.g. `eq`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Every comparison operator of RFC 7644 §3.4.2.2 (`pr` is not one).
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator spelled `word` (case-insensitive); `pr` is not a `CompareOp`.
    pub fn from_word(word: &str) -> Option<CompareOp> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// Parser result: the error is the `detail` text, wrapped into a `ScimError` by the caller.
pub(crate) type PResult<T> = Result<T, String>;

/// A cursor over filter / path text with the recursive-descent rules of the filter grammar.
pub(crate) struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    terms: usize,
    in_brackets: bool,
}

impl<'a> Parser<'a> {
    /// A parser positioned at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Parser { src, pos: 0, depth: 0, terms: 0, in_brackets: false }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += c.len_utf8();
        }
        hit
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !f(c)).unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or("")
    }

    /// Skips any whitespace (spaces, tabs, newlines).
    pub(crate) fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    /// The run of ASCII letters at the cursor, not consumed.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        rest.get(..len).unwrap_or("")
    }

    /// The 0-based character offset of byte offset `pos`.
    fn char_pos(&self, pos: usize) -> usize {
        self.src.get(..pos).map_or(0, |s| s.chars().count())
    }

    /// `msg at position N`, N being the character offset of byte `pos`.
    pub(crate) fn err_at(&self, pos: usize, msg: impl fmt::Display) -> String {
        format!("{msg} at position {}", self.char_pos(pos))
    }

    /// A short description of what is at the cursor, for error messages.
    fn found(&self) -> String {
        let word = self.peek_word();
        match self.peek() {
            None => "end of input".to_string(),
            Some(_) if !word.is_empty() => format!("\"{word}\""),
            Some(c) => format!("\"{c}\""),
        }
    }

    /// Fails unless only whitespace is left.
    pub(crate) fn expect_end(&mut self) -> PResult<()> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err_at(self.pos, format!("unexpected {}", self.found()))),
        }
    }

    /// Runs `f` one nesting level deeper, enforcing [`MAX_FILTER_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(format!("filter is too deeply nested (more than {MAX_FILTER_DEPTH} levels)"));
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn count_term(&mut self) -> PResult<()> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return Err(format!("filter has too many terms (more than {MAX_FILTER_TERMS})"));
        }
        Ok(())
    }

    /// Consumes the keyword `kw` (case-insensitive, whole word) after optional whitespace.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.peek_word().eq_ignore_ascii_case(kw) {
            self.pos += kw.len();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// `filter = andExpr *("or" andExpr)`, left-associative.
    pub(crate) fn filter(&mut self) -> PResult<Filter> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Filter> {
        let mut left = self.unary()?;
        while self.eat_keyword("and") {
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `not (filter)`, `(filter)` or an attribute expression.
    fn unary(&mut self) -> PResult<Filter> {
        self.skip_ws();
        let start = self.pos;
        if self.peek_word().eq_ignore_ascii_case("not") {
            self.pos += 3;
            self.skip_ws();
            if self.peek() == Some('(') {
                return self.nested(|p| Ok(Filter::Not(Box::new(p.group()?))));
            }
            // An attribute that happens to be called "not".
            self.pos = start;
        }
        match self.peek() {
            Some('(') => self.nested(Self::group),
            Some(c) if c.is_ascii_alphabetic() || c == '$' => self.attr_expr(),
            _ => {
                Err(self.err_at(start, format!("expected an attribute path, \"(\" or \"not\", found {}", self.found())))
            }
        }
    }

    /// `"(" filter ")"`, the cursor being on the "(".
    fn group(&mut self) -> PResult<Filter> {
        let open = self.pos;
        self.eat('(');
        let inner = self.filter()?;
        self.skip_ws();
        if !self.eat(')') {
            let msg = format!(
                "expected \")\" to close the \"(\" at position {}, found {}",
                self.char_pos(open),
                self.found()
            );
            return Err(self.err_at(self.pos, msg));
        }
        Ok(inner)
    }

    /// `attrPath pr`, `attrPath op value`, or a value path `attr[filter]` as a term.
    fn attr_expr(&mut self) -> PResult<Filter> {
        let start = self.pos;
        let mut path = self.attr_path()?;
        self.count_term()?;
        if path.sub.is_none()
            && let Some(filter) = path.filter.take()
        {
            return Ok(Filter::ValuePath { path, filter });
        }
        let written = self.src.get(start..self.pos).unwrap_or("");
        self.skip_ws();
        let op_pos = self.pos;
        let word = self.peek_word();
        if word.eq_ignore_ascii_case("pr") {
            self.pos += word.len();
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_word(word) else {
            return Err(
                self.err_at(op_pos, format!("expected a comparison operator ({OPERATORS}) after \"{written}\""))
            );
        };
        self.pos += word.len();
        self.skip_ws();
        let value = self.comp_value(op)?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `[urn:]attr[.sub]` or `[urn:]attr"["valFilter"]"["."sub]`.
    pub(crate) fn attr_path(&mut self) -> PResult<AttrPath> {
        let start = self.pos;
        let token = self.take_while(|c| c.is_ascii_alphanumeric() || "-_$:.".contains(c));
        let (urn, attr, mut sub) = split_name(token).map_err(|m| self.err_at(start, m))?;
        let mut filter = None;
        if self.peek() == Some('[') {
            if sub.is_some() {
                return Err(self.err_at(self.pos, "a value filter \"[...]\" cannot follow a sub-attribute"));
            }
            filter = Some(Box::new(self.bracket()?));
            if self.eat('.') {
                let sub_pos = self.pos;
                let name = self.take_while(|c| c.is_ascii_alphanumeric() || "-_$".contains(c));
                if !crate::scim::path::is_attr_name(name) {
                    return Err(self.err_at(sub_pos, "expected a sub-attribute name after \"].\""));
                }
                sub = Some(name.to_string());
            }
        }
        Ok(AttrPath { urn, attr, filter, sub })
    }

    /// `"[" valFilter "]"`, the cursor being on the "[".
    fn bracket(&mut self) -> PResult<Filter> {
        let open = self.pos;
        if self.in_brackets {
            return Err(self.err_at(open, "nested value filters \"[...]\" are not allowed"));
        }
        self.eat('[');
        self.in_brackets = true;
        let inner = self.nested(Self::filter);
        self.in_brackets = false;
        let inner = inner?;
        self.skip_ws();
        if !self.eat(']') {
            let msg = format!(
                "expected \"]\" to close the \"[\" at position {}, found {}",
                self.char_pos(open),
                self.found()
            );
            return Err(self.err_at(self.pos, msg));
        }
        Ok(inner)
    }

    /// `compValue = false / null / true / number / string`.
    fn comp_value(&mut self, op: CompareOp) -> PResult<Value> {
        let start = self.pos;
        match self.peek() {
            Some('"') => self.string(),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let tok = self.take_while(|c| c.is_ascii_digit() || "+-.eE".contains(c));
                match serde_json::from_str::<Value>(tok) {
                    Ok(v @ Value::Number(_)) => Ok(v),
                    _ => Err(self.err_at(start, format!("invalid number \"{tok}\""))),
                }
            }
            _ => {
                let word = self.peek_word();
                let value = match word.to_ascii_lowercase().as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => {
                        let msg = format!("\"{}\" needs a value (a string, number, true, false or null)", op.as_str());
                        return Err(self.err_at(start, msg));
                    }
                };
                self.pos += word.len();
                Ok(value)
            }
        }
    }

    /// A JSON string literal; serde_json decodes the escapes (incl. surrogate pairs).
    fn string(&mut self) -> PResult<Value> {
        let start = self.pos;
        let mut escaped = false;
        let end = self.rest().char_indices().skip(1).find_map(|(i, c)| {
            let close = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            close.then_some(i)
        });
        let Some(end) = end else {
            return Err(self.err_at(start, "unterminated string starting"));
        };
        let literal = self.rest().get(..=end).unwrap_or("");
        let text = serde_json::from_str::<String>(literal)
            .map_err(|_| self.err_at(start, "invalid escape or control character in the string starting"))?;
        self.pos += end + 1;
        Ok(Value::String(text))
    }
}

// ---------------------------------------------------------------------------------------------
// Printing

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Parentheses only where the parser needs them ("and" binds tighter, both are
            // left-associative), so a printed filter is never nested deeper than the one parsed
            // and always parses again within MAX_FILTER_DEPTH.
            Filter::And(l, r) => {
                let (lp, rp) = (matches!(**l, Filter::Or(..)), matches!(**r, Filter::And(..) | Filter::Or(..)));
                write!(f, "{} and {}", Grouped(l, lp), Grouped(r, rp))
            }
            Filter::Or(l, r) => write!(f, "{} or {}", Grouped(l, false), Grouped(r, matches!(**r, Filter::Or(..)))),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(path) => write!(f, "{path} pr"),
            // serde_json's Display of a Value is its compact JSON, so strings come out escaped.
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

/// Prints a child of `and`/`or`, in parentheses when the flag says so.
struct Grouped<'a>(&'a Filter, bool);

impl fmt::Display for Grouped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 { write!(f, "({})", self.0) } else { write!(f, "{}", self.0) }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// Whether the SCIM resource (a JSON object) satisfies `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::And(l, r) => matches(l, resource) && matches(r, resource),
        Filter::Or(l, r) => matches(l, resource) || matches(r, resource),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::Present(path) => resolve(path, resource).into_iter().any(is_present),
        Filter::Compare { path, op, value } => compare_path(path, *op, value, resource),
        Filter::ValuePath { path, filter } => {
            resolve(path, resource).into_iter().any(|element| matches(filter, element))
        }
    }
}

fn compare_path(path: &AttrPath, op: CompareOp, expected: &Value, resource: &Value) -> bool {
    let values = resolve(path, resource);
    // `eq null` means "absent", `ne null` means "present" (RFC 7644 §3.4.2.2 treats null as unassigned).
    if expected.is_null() {
        let present = values.into_iter().any(is_present);
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    let case_exact = path.sub.is_none() && (path.is("id") || path.is("externalId"));
    let equal = |v: &Value| compare(v, CompareOp::Eq, expected, case_exact);
    match op {
        CompareOp::Ne => !values.into_iter().any(equal),
        _ => values.into_iter().any(|v| compare(v, op, expected, case_exact)),
    }
}

/// The values `path` selects in `resource`, multi-valued attributes flattened to their elements.
fn resolve<'v>(path: &AttrPath, resource: &'v Value) -> Vec<&'v Value> {
    let base = match &path.urn {
        Some(urn) if !is_core_urn(urn) => get_ci(resource, urn),
        _ => Some(resource),
    };
    let mut values: Vec<&Value> = base.and_then(|b| get_ci(b, &path.attr)).map(flatten).unwrap_or_default();
    if let Some(filter) = &path.filter {
        values.retain(|element| matches(filter, element));
    }
    if let Some(sub) = &path.sub {
        values = values.into_iter().filter_map(|v| get_ci(v, sub)).flat_map(flatten).collect();
    }
    values
}

fn is_core_urn(urn: &str) -> bool {
    const CORE: &str = "urn:ietf:params:scim:schemas:core:";
    urn.get(..CORE.len()).is_some_and(|p| p.eq_ignore_ascii_case(CORE))
}

fn flatten(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// `object[key]` with the key matched case-insensitively (an exact match wins).
fn get_ci<'v>(object: &'v Value, key: &str) -> Option<&'v Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// One attribute value against the filter literal; complex values compare via their `value`.
fn compare(actual: &Value, op: CompareOp, expected: &Value, case_exact: bool) -> bool {
    if actual.is_object() {
        return get_ci(actual, "value").is_some_and(|v| !v.is_object() && compare(v, op, expected, case_exact));
    }
    match (actual, expected) {
        (Value::String(a), Value::String(b)) if case_exact => compare_str(a, op, b),
        (Value::String(a), Value::String(b)) => compare_str(&a.to_lowercase(), op, &b.to_lowercase()),
        (Value::Number(_), Value::Number(_)) => {
            !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && number_cmp(actual, expected).is_some_and(|ord| ordering_holds(ord, op))
        }
        (Value::Bool(a), Value::Bool(b)) => bool_holds(*a, op, *b),
        // `active eq "True"`: string booleans, as clients send them in PATCH values and as the
        // SQL translation of filters reads them.
        (Value::Bool(a), Value::String(b)) if b.eq_ignore_ascii_case("true") => bool_holds(*a, op, true),
        (Value::Bool(a), Value::String(b)) if b.eq_ignore_ascii_case("false") => bool_holds(*a, op, false),
        _ => false,
    }
}

fn bool_holds(a: bool, op: CompareOp, b: bool) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        _ => false,
    }
}

fn compare_str(a: &str, op: CompareOp, b: &str) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ordering_holds(a.cmp(b), op),
    }
}

fn number_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn ordering_holds(ord: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ord.is_eq(),
        CompareOp::Ne => ord.is_ne(),
        CompareOp::Gt => ord.is_gt(),
        CompareOp::Ge => ord.is_ge(),
        CompareOp::Lt => ord.is_lt(),
        CompareOp::Le => ord.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn p(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) -> String {
        let e = parse_filter(s).expect_err(s);
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidFilter)));
        e.detail
    }

    fn cmp(path: AttrPath, op: CompareOp, value: Value) -> Filter {
        Filter::Compare { path, op, value }
    }

    fn eq(attr: &str, value: Value) -> Filter {
        cmp(AttrPath::new(attr), CompareOp::Eq, value)
    }

    fn and(l: Filter, r: Filter) -> Filter {
        Filter::And(Box::new(l), Box::new(r))
    }

    fn or(l: Filter, r: Filter) -> Filter {
        Filter::Or(Box::new(l), Box::new(r))
    }

    fn not(f: Filter) -> Filter {
        Filter::Not(Box::new(f))
    }

    fn urn_path(urn: &str, attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath { urn: Some(urn.into()), attr: attr.into(), filter: None, sub: sub.map(Into::into) }
    }

    fn round_trip(s: &str) {
        let ast = p(s);
        let printed = ast.to_string();
        assert_eq!(p(&printed), ast, "{s:?} printed as {printed:?}");
    }

    const RFC_EXAMPLES: &[&str] = &[
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"userName Eq "john""#,
    ];

    const ENTRA_OKTA: &[&str] = &[
        r#"userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081""#,
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        r#"emails[type eq "work"].value eq "a@b.com""#,
        r#"id eq "x" and manager eq "y""#,
        r#"displayName eq "Group1DisplayName""#,
        r#"members.value eq "uuid""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#,
        r#"emails[type eq "work"].value pr"#,
    ];

    #[test]
    fn every_operator() {
        for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
            let expected = CompareOp::from_word(op).unwrap();
            assert_eq!(p(&format!(r#"a {op} "x""#)), cmp(AttrPath::new("a"), expected, json!("x")));
            assert_eq!(expected.to_string(), op);
        }
        assert_eq!(p("title pr"), Filter::Present(AttrPath::new("title")));
        assert_eq!(CompareOp::from_word("pr"), None);
    }

    #[test]
    fn precedence_and_associativity() {
        let (a, b, c) = (eq("a", json!(1)), eq("b", json!(2)), eq("c", json!(3)));
        assert_eq!(p("a eq 1 or b eq 2 and c eq 3"), or(a.clone(), and(b.clone(), c.clone())));
        assert_eq!(p("a eq 1 and b eq 2 or c eq 3"), or(and(a.clone(), b.clone()), c.clone()));
        assert_eq!(p("a eq 1 or b eq 2 or c eq 3"), or(or(a.clone(), b.clone()), c.clone()));
        assert_eq!(p("(a eq 1 or b eq 2) and c eq 3"), and(or(a.clone(), b.clone()), c.clone()));
        assert_eq!(p("not (a eq 1) and b eq 2"), and(not(a.clone()), b.clone()));
        assert_eq!(p("((( a eq 1 )))"), a);
    }

    #[test]
    fn not_forms() {
        let inner = Filter::Present(AttrPath::new("a"));
        assert_eq!(p("not (a pr)"), not(inner.clone()));
        assert_eq!(p("not(a pr)"), not(inner.clone()));
        assert_eq!(p("NOT  ( a pr )"), not(inner.clone()));
        assert_eq!(p("not (not (a pr))"), not(not(inner)));
        // An attribute that is called "not" is still an attribute.
        assert_eq!(p(r#"not eq "x""#), eq("not", json!("x")));
    }

    #[test]
    fn case_insensitive_keywords_and_literals() {
        let f = p(r#"userName EQ "x" AnD title PR Or active eq TRUE"#);
        let expected =
            or(and(eq("userName", json!("x")), Filter::Present(AttrPath::new("title"))), eq("active", json!(true)));
        assert_eq!(f, expected);
        assert_eq!(p("a eq False"), eq("a", json!(false)));
        assert_eq!(p("a eq NULL"), eq("a", Value::Null));
    }

    #[test]
    fn values() {
        assert_eq!(p("a eq 42"), eq("a", json!(42)));
        assert_eq!(p("a gt -1.5"), cmp(AttrPath::new("a"), CompareOp::Gt, json!(-1.5)));
        assert_eq!(p("a eq 1e3"), eq("a", json!(1000.0)));
        assert_eq!(p("a eq -2.5E-2"), eq("a", json!(-0.025)));
        assert_eq!(p(r#"a eq "say \"hi\" \\ \/ \n""#), eq("a", json!("say \"hi\" \\ / \n")));
        assert_eq!(p(r#"a eq "caf\u00e9 \ud83d\ude00""#), eq("a", json!("café 😀")));
        assert_eq!(p(r#"a eq "Zoë 日本""#), eq("a", json!("Zoë 日本")));
        assert_eq!(p(r#"a eq """#), eq("a", json!("")));
    }

    #[test]
    fn float_literals_are_read_exactly() {
        // serde_json's default float parser can be one ulp off; the printer's shortest form
        // must read back as the same number.
        for x in [-1.1531918587209385e-60_f64, 2.9353977576378916e228, -1.563542896892358e-41, 0.1, 5e-324] {
            assert_eq!(p(&format!("a eq {x:e}")), eq("a", json!(x)), "{x:e}");
            round_trip(&format!("a eq {x:e}"));
        }
    }

    #[test]
    fn attribute_paths() {
        assert_eq!(
            p(r#"name.familyName co "x""#),
            cmp(AttrPath::with_sub("name", "familyName"), CompareOp::Co, json!("x"))
        );
        assert_eq!(
            p(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#),
            cmp(urn_path("urn:ietf:params:scim:schemas:core:2.0:User", "userName", None), CompareOp::Sw, json!("J"))
        );
        assert_eq!(
            p(&format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#)),
            cmp(urn_path(ENTERPRISE, "employeeNumber", None), CompareOp::Eq, json!("701984"))
        );
        assert_eq!(
            p(&format!(r#"{ENTERPRISE}:manager.value eq "m""#)),
            cmp(urn_path(ENTERPRISE, "manager", Some("value")), CompareOp::Eq, json!("m"))
        );
        assert_eq!(p(r#"members.$ref pr"#), Filter::Present(AttrPath::with_sub("members", "$ref")));
        assert_eq!(p(r#"$ref pr"#), Filter::Present(AttrPath::new("$ref")));
        assert_eq!(p("x-y_z9 pr"), Filter::Present(AttrPath::new("x-y_z9")));
    }

    #[test]
    fn value_paths() {
        let inner = and(eq("type", json!("work")), cmp(AttrPath::new("value"), CompareOp::Co, json!("@example.com")));
        assert_eq!(
            p(r#"emails[type eq "work" and value co "@example.com"]"#),
            Filter::ValuePath { path: AttrPath::new("emails"), filter: Box::new(inner) }
        );
        let work = AttrPath {
            urn: None,
            attr: "emails".into(),
            filter: Some(Box::new(eq("type", json!("work")))),
            sub: Some("value".into()),
        };
        assert_eq!(p(r#"emails[type eq "work"].value eq "a@b.c""#), cmp(work.clone(), CompareOp::Eq, json!("a@b.c")));
        assert_eq!(p(r#"emails[ type eq "work" ].value pr"#), Filter::Present(work));
    }

    #[test]
    fn entra_okta_shapes() {
        assert_eq!(p(ENTRA_OKTA[0]), eq("userName", json!("Test_User_dfeef4c5-5681-4387-b016-bdf221e82081")));
        assert_eq!(p(ENTRA_OKTA[1]), eq("externalId", json!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")));
        assert_eq!(p(ENTRA_OKTA[3]), and(eq("id", json!("x")), eq("manager", json!("y"))));
        assert_eq!(p(ENTRA_OKTA[4]), eq("displayName", json!("Group1DisplayName")));
        assert_eq!(p(ENTRA_OKTA[5]), cmp(AttrPath::with_sub("members", "value"), CompareOp::Eq, json!("uuid")));
        assert_eq!(
            p(ENTRA_OKTA[6]),
            cmp(AttrPath::with_sub("meta", "lastModified"), CompareOp::Gt, json!("2011-05-13T04:42:34Z"))
        );
        for s in ENTRA_OKTA {
            p(s);
        }
    }

    #[test]
    fn rfc_examples_parse() {
        for s in RFC_EXAMPLES {
            p(s);
        }
        assert_eq!(
            p(RFC_EXAMPLES[13]),
            and(
                cmp(AttrPath::new("userType"), CompareOp::Ne, json!("Employee")),
                not(or(
                    cmp(AttrPath::new("emails"), CompareOp::Co, json!("example.com")),
                    cmp(AttrPath::with_sub("emails", "value"), CompareOp::Co, json!("example.org")),
                )),
            )
        );
    }

    #[test]
    fn whitespace_tolerance() {
        let expected = and(eq("userName", json!("x")), Filter::Present(AttrPath::new("title")));
        assert_eq!(p("userName eq \"x\" and title pr "), expected);
        assert_eq!(p("  userName\teq   \"x\"\tand  title  pr"), expected);
        assert_eq!(p("( userName eq \"x\" ) and ( title pr )"), expected);
        assert_eq!(p("userName eq\"x\""), eq("userName", json!("x")));
    }

    #[test]
    fn errors_name_position() {
        assert_eq!(
            err(r#"userName xx "a""#),
            r#"expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "userName" at position 9"#
        );
        assert_eq!(err(r#"userName eq "abc"#), "unterminated string starting at position 12");
        assert_eq!(err(r#"userName eq "x")"#), r#"unexpected ")" at position 15"#);
        assert!(err("userName eq").starts_with(r#""eq" needs a value"#));
        assert!(err("userName eq").ends_with("at position 11"));
        assert!(err("userName eq bogus").contains("needs a value"));
        assert_eq!(err(""), "filter is empty");
        assert_eq!(err("   "), "filter is empty");
        assert_eq!(err(r#"userName eq "x" foo"#), r#"unexpected "foo" at position 16"#);
        assert!(err("(a pr").starts_with(r#"expected ")" to close the "(" at position 0"#));
        assert!(err(r#"emails[type eq "work""#).starts_with(r#"expected "]" to close the "[" at position 6"#));
        assert!(err(r#"emails[type[x pr] pr]"#).contains("nested value filters"));
        assert!(err("a eq 1.2.3").contains("invalid number"));
        assert!(err(r#"a eq "\q""#).contains("invalid escape"));
        assert!(err(r#"a eq "\ud800""#).contains("invalid escape"));
        assert!(err("a pr and").contains("expected an attribute path"));
        assert!(err(") a pr").starts_with(r#"expected an attribute path, "(" or "not", found ")" at position 0"#));
        assert!(err("urn:ietf:params:scim:schemas:core:2.0:User eq \"x\"").contains("schema URN"));
        assert!(err("name.given.x pr").contains("invalid sub-attribute"));
        assert!(err(r#"name.givenName[type eq "x"] pr"#).contains("cannot follow a sub-attribute"));
        assert!(err(r#"emails[type eq "work"]. eq "x""#).contains("sub-attribute name"));
        assert!(err("a eq 1 or").contains("at position 9"));
        // Positions count characters, not bytes.
        assert_eq!(err(r#"a eq "é" )"#), r#"unexpected ")" at position 9"#);
    }

    #[test]
    fn limits() {
        let long = format!(r#"a eq "{}""#, "x".repeat(MAX_FILTER_LEN));
        assert!(err(&long).contains("too long"));
        let nest = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
        p(&nest(MAX_FILTER_DEPTH));
        assert!(err(&nest(MAX_FILTER_DEPTH + 1)).contains("too deeply nested"));
        assert!(err(&format!("{}a pr{}", "not (".repeat(40), ")".repeat(40))).contains("too deeply nested"));
        let terms = |n: usize| vec!["a pr"; n].join(" or ");
        p(&terms(MAX_FILTER_TERMS));
        assert!(err(&terms(MAX_FILTER_TERMS + 1)).contains("too many terms"));
    }

    #[test]
    fn printer_is_canonical() {
        assert_eq!(p("A EQ 1 OR b Eq 2 AND c pr").to_string(), "A eq 1 or b eq 2 and c pr");
        assert_eq!(p("(a pr or b pr) and (c pr or d pr)").to_string(), "(a pr or b pr) and (c pr or d pr)");
        assert_eq!(p("a pr or (b pr or c pr)").to_string(), "a pr or (b pr or c pr)");
        assert_eq!(p("a pr and (b pr and c pr)").to_string(), "a pr and (b pr and c pr)");
        assert_eq!(p("a pr and b pr and c pr or d pr or e pr").to_string(), "a pr and b pr and c pr or d pr or e pr");
        assert_eq!(p(r#"NOT(x co "a\"b")"#).to_string(), r#"not (x co "a\"b")"#);
        assert_eq!(p(r#"emails[type eq "work"].value eq "a""#).to_string(), r#"emails[type eq "work"].value eq "a""#);
        assert_eq!(
            p(r#"emails[type eq "w" or primary eq true]"#).to_string(),
            r#"emails[type eq "w" or primary eq true]"#
        );
    }

    #[test]
    fn parse_print_round_trip() {
        let extra = [
            "a eq 1 or b eq 2 and c eq 3",
            "(a eq 1 or b eq 2) and (c eq 3 or not (d pr))",
            r#"a eq "say \"hi\" \\ \/ \n \t \u0001 \ud83d\ude00 é""#,
            "a eq -2.5E-2 and b eq 1e3 and c eq null and d eq TRUE",
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr].displayName sw "B""#,
        ];
        for s in RFC_EXAMPLES.iter().chain(ENTRA_OKTA).chain(extra.iter()) {
            round_trip(s);
        }
    }

    #[test]
    fn a_long_or_chain_prints_to_a_filter_that_parses_again() {
        // Left-associative chains used to print one "(" per term and broke MAX_FILTER_DEPTH.
        for joiner in [" or ", " and "] {
            let chain = (0..40).map(|i| format!("a{i} eq {i}")).collect::<Vec<_>>().join(joiner);
            round_trip(&chain);
            assert!(!p(&chain).to_string().contains('('), "{joiner}");
        }
        let mixed = (0..40).map(|i| format!("(a{i} pr or b{i} pr)")).collect::<Vec<_>>().join(" and ");
        round_trip(&mixed);
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen-ext",
            "userName": "bjensen@example.com",
            "name": { "familyName": "Jensen", "givenName": "Barbara" },
            "displayName": "Babs Jensen",
            "title": "",
            "userType": "Employee",
            "active": true,
            "loginCount": 42,
            "phoneNumbers": [],
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": true },
                { "value": "babs@jensen.org", "type": "home" }
            ],
            "meta": { "resourceType": "User", "lastModified": "2011-05-13T04:42:34Z" },
            ENTERPRISE: {
                "employeeNumber": "701984",
                "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" }
            }
        })
    }

    fn check(filter: &str, expected: bool) {
        assert_eq!(matches(&p(filter), &user()), expected, "{filter}");
    }

    #[test]
    fn evaluate_strings_and_case() {
        check(r#"userName eq "BJENSEN@example.com""#, true);
        check(r#"USERNAME Eq "bjensen@example.com""#, true);
        check(r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true);
        check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false);
        check(r#"externalId eq "BJENSEN-EXT""#, false);
        check(r#"externalId eq "bjensen-ext""#, true);
        check(r#"name.familyName co "ENS""#, true);
        check(r#"name.familyName sw "jen""#, true);
        check(r#"name.familyName ew "sen""#, true);
        check(r#"name.familyName ew "jen""#, false);
        check(r#"userName gt "a" and userName lt "C""#, true);
        check(r#"userType ne "Intern""#, true);
        check(r#"userType ne "employee""#, false);
        check(r#"nickName ne "x""#, true);
        check(r#"nickName eq "x""#, false);
        check(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true);
    }

    #[test]
    fn evaluate_presence_and_null() {
        check("displayName pr", true);
        check("title pr", false);
        check("nickName pr", false);
        check("phoneNumbers pr", false);
        check("name pr", true);
        check("emails pr", true);
        check("title eq null", true);
        check("userName eq null", false);
        check("userName ne null", true);
    }

    #[test]
    fn evaluate_numbers_booleans_dates() {
        check("loginCount gt 40", true);
        check("loginCount eq 42.0", true);
        check("loginCount le 41.5", false);
        check("loginCount co 4", false);
        check(r#"loginCount eq "42""#, false);
        check("active eq true", true);
        check("active ne false", true);
        check("active gt false", false);
        check(r#"active eq "True""#, true);
        check(r#"active eq "FALSE""#, false);
        check(r#"active ne "false""#, true);
        check(r#"active eq "yes""#, false);
        check(r#"meta.lastModified gt "2011-01-01T00:00:00Z""#, true);
        check(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true);
        check(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false);
        check(r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true);
    }

    #[test]
    fn evaluate_multi_valued_and_value_paths() {
        check(r#"emails eq "babs@jensen.org""#, true);
        check(r#"emails co "example.com""#, true);
        check(r#"emails.value ew ".ORG""#, true);
        check(r#"emails.type eq "other""#, false);
        check(r#"emails[type eq "work"].value eq "bjensen@example.com""#, true);
        check(r#"emails[type eq "home"].value eq "bjensen@example.com""#, false);
        check(r#"Emails[Type eq "work"].Value pr"#, true);
        check(r#"emails[type eq "other"].value pr"#, false);
        check(r#"emails[type eq "work" and value co "@example.com"]"#, true);
        check(r#"emails[type eq "home" and primary eq true]"#, false);
        check(r#"emails[not (type eq "work")]"#, true);
        check(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true);
        check(r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false);
    }

    #[test]
    fn evaluate_urn_paths() {
        check(&format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#), true);
        check(&format!(r#"{}:EMPLOYEENUMBER eq "701984""#, ENTERPRISE.to_uppercase()), true);
        check(&format!(r#"{ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#), true);
        check(&format!(r#"{ENTERPRISE}:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#), true);
        check(&format!(r#"{ENTERPRISE}:userName pr"#), false);
        check(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bjensen""#, true);
        check(r#"employeeNumber eq "701984""#, false);
    }

    #[test]
    fn evaluate_group_members() {
        let group = json!({
            "displayName": "Group1DisplayName",
            "members": [{ "value": "uuid-1", "display": "A" }, { "value": "uuid-2" }]
        });
        assert!(matches(&p(r#"displayName eq "Group1DisplayName""#), &group));
        assert!(matches(&p(r#"members.value eq "uuid-2""#), &group));
        assert!(matches(&p(r#"members[value eq "uuid-1"]"#), &group));
        assert!(!matches(&p(r#"members[value eq "uuid-3"]"#), &group));
        assert!(!matches(&p(r#"members.value eq "uuid-3""#), &group));
    }
}
