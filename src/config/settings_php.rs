//! Read the database connection from a Drupal `settings.php` without running PHP (the fallback
//! when no PHP is installed beside Drupal).
//!
//! `settings.php` is a PHP program, so it can compute its settings in ways only PHP can
//! evaluate. This module reads the common, literal forms that Drupal's installer and most
//! hand-written files use:
//!
//! ```php
//! $databases['default']['default'] = [ 'database' => 'drupal', 'host' => 'db', ... ];   // Drupal 8+
//! $databases['default']['default'] = array ( 'database' => 'drupal', ... );              // installer output
//! $databases = array('default' => array('default' => array(...)));                      // Drupal 7
//! $databases['default']['default']['host'] = 'db2';                                      // single-key override
//! ```
//!
//! A small tokenizer covers the PHP subset (strings with their escapes, numbers, names,
//! variables, operators, comments, `<?php … ?>`), and a recursive-descent reader turns array
//! literals into values. Every other statement is skipped token by token; braces are
//! transparent (an assignment inside `if (…) { … }` counts), function and class bodies are not
//! (their variables are local). Assignments are applied in file order, so the last one wins.
//!
//! What cannot be evaluated (`getenv()`, constants, variables, concatenation, …) is kept as an
//! opaque value; it is only an error when it ends up in a key drupal-scim needs, and then the
//! error names the key and the line.

use crate::config::DrupalDatabase;
use std::collections::BTreeMap;
use std::fmt;

/// Why the database settings could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsPhpError {
    /// No `$databases['default']['default']` was set. `includes` lists the files settings.php
    /// includes (`"settings.local.php (line 12)"`), one of which probably sets it.
    NotFound { includes: Vec<String> },
    /// The settings are there but computed in a way we cannot evaluate, or use a database
    /// drupal-scim does not support. The message says what and where (line number).
    Unsupported(String),
    /// The file is not valid PHP, or the settings are incomplete or wrong.
    Invalid(String),
}

impl fmt::Display for SettingsPhpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsPhpError::NotFound { includes } => {
                f.write_str("no $databases['default']['default'] assignment found in settings.php")?;
                if !includes.is_empty() {
                    write!(f, "; it includes {}, which may set it: pass that file instead", includes.join(", "))?;
                }
                Ok(())
            }
            SettingsPhpError::Unsupported(msg) | SettingsPhpError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for SettingsPhpError {}

/// Read `$databases['default']['default']` from the text of a settings.php.
pub fn parse_settings(php: &str) -> Result<DrupalDatabase, SettingsPhpError> {
    let php = php.strip_prefix('\u{feff}').unwrap_or(php);
    let tokens = Lexer::new(php).run()?;
    let mut reader = Reader { src: php, toks: tokens, pos: 0 };
    let outcome = reader.scan()?;

    let Some(conn) = outcome.connection else {
        let includes = outcome.includes.iter().map(|i| format!("{} (line {})", i.name, i.line)).collect();
        return Err(SettingsPhpError::NotFound { includes });
    };
    let mut db = extract(&conn)?;
    db.config_sync_directory = outcome.config_sync_directory;
    for inc in outcome.includes.iter().filter(|i| i.token > outcome.last_assignment_token) {
        db.warnings.push(format!(
            "settings.php includes {} at line {}, after the database settings (line {}); that file may \
             override them: if it does, pass it with --drupal-settings instead",
            inc.name, inc.line, outcome.last_assignment_line
        ));
    }
    Ok(db)
}

// ---------------------------------------------------------------------------------------------
// Turning the connection array into a DrupalDatabase
// ---------------------------------------------------------------------------------------------

const TARGET: &str = "$databases['default']['default']";

/// Keys whose values drupal-scim uses; a value we cannot evaluate is only an error there.
const NEEDED_KEYS: [&str; 8] = ["driver", "host", "port", "database", "username", "password", "prefix", "unix_socket"];

fn extract(conn: &Val) -> Result<DrupalDatabase, SettingsPhpError> {
    let entries = match &conn.kind {
        Kind::Array(entries) => entries,
        Kind::Opaque(text) => {
            return Err(SettingsPhpError::Unsupported(format!(
                "{TARGET} is set to `{text}` at line {}, which drupal-scim cannot evaluate (it reads only \
                 literal strings, numbers and arrays from settings.php); give the database URL with \
                 DRUPAL_SCIM__DATABASE__URL instead",
                conn.line
            )));
        }
        _ => {
            return Err(SettingsPhpError::Invalid(format!("{TARGET} at line {} is not an array", conn.line)));
        }
    };
    let get = |key: &str| lookup(entries, key);

    let driver = match get("driver") {
        None => "mysql".to_string(),
        Some(v) => {
            let d = scalar(v, "driver")?.unwrap_or_default();
            match d.as_str() {
                "" => "mysql".to_string(),
                "mysql" | "mysqli" => d,
                other => {
                    return Err(SettingsPhpError::Unsupported(format!(
                        "settings.php uses the database driver '{other}' (line {}): drupal-scim supports \
                         MySQL/MariaDB only",
                        v.line
                    )));
                }
            }
        }
    };

    let database = match get("database") {
        Some(v) => scalar(v, "database")?.unwrap_or_default(),
        None => String::new(),
    };
    if database.is_empty() {
        return Err(SettingsPhpError::Invalid(format!("{TARGET} (line {}) has no 'database' name", conn.line)));
    }
    let text = |key: &str| -> Result<String, SettingsPhpError> {
        match get(key) {
            Some(v) => Ok(scalar(v, key)?.unwrap_or_default()),
            None => Ok(String::new()),
        }
    };
    let username = text("username")?;
    let password = text("password")?;
    let mut host = text("host")?;
    if host.is_empty() {
        host = "localhost".to_string();
    }
    let socket = text("unix_socket")?;
    let unix_socket = if socket.is_empty() { None } else { Some(socket) };

    let port = match get("port") {
        None => None,
        Some(v) => {
            let raw = scalar(v, "port")?.unwrap_or_default();
            let raw = raw.trim();
            if raw.is_empty() {
                None
            } else {
                match raw.parse::<u16>() {
                    Ok(0) => None,
                    Ok(p) => Some(p),
                    Err(_) => {
                        return Err(SettingsPhpError::Invalid(format!(
                            "'port' at line {} is {raw:?}, not a port number",
                            v.line
                        )));
                    }
                }
            }
        }
    };

    let (prefix, prefixes) = match get("prefix") {
        None => (String::new(), BTreeMap::new()),
        Some(v) => prefix_of(v)?,
    };

    Ok(DrupalDatabase {
        driver,
        host,
        port,
        database,
        username,
        password,
        prefix,
        prefixes,
        unix_socket,
        config_sync_directory: None,
        cache: Default::default(),
        warnings: Vec::new(),
    })
}

/// A scalar setting as text; `None` for PHP `null`.
fn scalar(v: &Val, key: &str) -> Result<Option<String>, SettingsPhpError> {
    match &v.kind {
        Kind::Str(s) => Ok(Some(s.clone())),
        Kind::Int(i) => Ok(Some(i.to_string())),
        Kind::Null => Ok(None),
        Kind::Bool(_) => Err(SettingsPhpError::Invalid(format!("'{key}' at line {} is a boolean, not text", v.line))),
        Kind::Array(_) => Err(SettingsPhpError::Invalid(format!("'{key}' at line {} is an array, not text", v.line))),
        Kind::Opaque(text) => Err(cannot_evaluate(key, text, v.line)),
    }
}

fn cannot_evaluate(key: &str, text: &str, line: usize) -> SettingsPhpError {
    SettingsPhpError::Unsupported(format!(
        "'{key}' at line {line} of settings.php is `{text}`, which drupal-scim cannot evaluate (it reads \
         only literal strings and numbers); give the database URL with DRUPAL_SCIM__DATABASE__URL instead"
    ))
}

/// The prefix and the per-table prefixes. Drupal 7 (and 8.x–9.x) allowed an array: its
/// `'default'` entry is the prefix of every table not named (`''` when missing, as Drupal adds
/// it), the other entries are tables with a prefix of their own. Whether those are valid is the
/// store's decision (`Tables`), as for a string prefix.
fn prefix_of(v: &Val) -> Result<(String, BTreeMap<String, String>), SettingsPhpError> {
    let Kind::Array(entries) = &v.kind else {
        return Ok((scalar(v, "prefix")?.unwrap_or_default(), BTreeMap::new()));
    };
    let mut default = String::new();
    let mut per_table = BTreeMap::new();
    // In source order, so a repeated key keeps its last value, as in PHP.
    for (key, value) in entries {
        match key {
            Key::Str(table) => {
                let prefix = scalar(value, "prefix")?.unwrap_or_default();
                if table == "default" {
                    default = prefix;
                } else {
                    per_table.insert(table.clone(), prefix);
                }
            }
            Key::Int(i) => {
                return Err(SettingsPhpError::Invalid(format!(
                    "'prefix' at line {} has the key {i}, which is not a table name",
                    value.line
                )));
            }
            Key::Opaque => {
                return Err(SettingsPhpError::Unsupported(format!(
                    "'prefix' at line {} has a computed key, which drupal-scim cannot evaluate; set \
                     table_prefix and [drupal.table_prefixes] in drupal_mapping.toml instead",
                    value.line
                )));
            }
        }
    }
    Ok((default, per_table))
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Val {
    kind: Kind,
    /// Line where the value starts.
    line: usize,
}

#[derive(Debug, Clone)]
enum Kind {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    /// Entries in source order; a repeated key: the last one wins, as in PHP.
    Array(Vec<(Key, Val)>),
    /// Something only PHP can evaluate; the text is the source, shortened.
    Opaque(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Str(String),
    Int(i64),
    /// A computed key (`PDO::MYSQL_ATTR_SSL_CA`, `$k`, …).
    Opaque,
}

fn lookup<'v>(entries: &'v [(Key, Val)], key: &str) -> Option<&'v Val> {
    entries.iter().rev().find(|(k, _)| matches!(k, Key::Str(s) if s == key)).map(|(_, v)| v)
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A string literal; `dynamic` when PHP would interpolate variables into it (or run it, for
    /// backticks), or for a heredoc.
    Str {
        value: String,
        dynamic: bool,
    },
    Int(i64),
    /// Any other number (floats, overflowing integers).
    Num,
    /// A name: keyword, function, constant, class (`\Drupal\Foo` included).
    Ident(String),
    /// `$name`, without the `$`.
    Var(String),
    /// Operators and punctuation; `?>` becomes `;`.
    Op(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    start: usize,
    end: usize,
}

/// Longest first.
const OPERATORS: &[&str] = &[
    "<=>", "**=", "...", "<<=", ">>=", "===", "!==", "??=", "?->", "=>", "==", "!=", "<>", "<=", ">=", "&&", "||",
    "++", "--", "+=", "-=", "*=", "/=", ".=", "%=", "&=", "|=", "^=", "->", "::", "??", "<<", ">>", "**", "#[", "=",
    "[", "]", "(", ")", "{", "}", ",", ";", ".", "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", "&", "|", "^",
];
const SINGLE_OPERATORS: &[&str] = &["~", "@", "$"];

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    out: Vec<Token>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer { src, bytes: src.as_bytes(), pos: 0, line: 1, out: Vec::new() }
    }

    fn at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.bytes.get(self.pos..).is_some_and(|rest| rest.starts_with(s.as_bytes()))
    }

    fn starts_with_ci(&self, s: &str) -> bool {
        self.bytes.get(self.pos..self.pos + s.len()).is_some_and(|rest| rest.eq_ignore_ascii_case(s.as_bytes()))
    }

    /// Move on by `n` bytes, counting lines.
    fn advance(&mut self, n: usize) {
        for _ in 0..n {
            if self.at(0) == Some(b'\n') {
                self.line += 1;
            }
            if self.pos < self.bytes.len() {
                self.pos += 1;
            }
        }
    }

    fn push(&mut self, tok: Tok, line: usize, start: usize) {
        self.out.push(Token { tok, line, start, end: self.pos });
    }

    fn run(mut self) -> Result<Vec<Token>, SettingsPhpError> {
        self.skip_inline_html();
        while let Some(b) = self.at(0) {
            let (line, start) = (self.line, self.pos);
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => self.advance(1),
                b'#' if self.at(1) != Some(b'[') => self.line_comment(),
                b'/' if self.at(1) == Some(b'/') => self.line_comment(),
                b'/' if self.at(1) == Some(b'*') => {
                    self.advance(2);
                    // PHP treats an unterminated comment as running to the end of the file.
                    while self.pos < self.bytes.len() && !self.starts_with("*/") {
                        self.advance(1);
                    }
                    self.advance(2);
                }
                b'?' if self.at(1) == Some(b'>') => {
                    self.advance(2);
                    self.push(Tok::Op(";"), line, start);
                    self.skip_inline_html();
                }
                b'\'' => {
                    let value = self.single_quoted()?;
                    self.push(Tok::Str { value, dynamic: false }, line, start);
                }
                b'"' | b'`' => {
                    let (value, dynamic) = self.double_quoted(b)?;
                    self.push(Tok::Str { value, dynamic: dynamic || b == b'`' }, line, start);
                }
                b'<' if self.starts_with("<<<") => {
                    self.heredoc()?;
                    self.push(Tok::Str { value: String::new(), dynamic: true }, line, start);
                }
                b'$' if self.at(1).is_some_and(is_ident_start) => {
                    self.advance(1);
                    let name = self.take_while(is_ident_char);
                    self.push(Tok::Var(name), line, start);
                }
                b'0'..=b'9' => {
                    let tok = self.number();
                    self.push(tok, line, start);
                }
                b'.' if self.at(1).is_some_and(|c| c.is_ascii_digit()) => {
                    let tok = self.number();
                    self.push(tok, line, start);
                }
                b'\\' => {
                    let name = self.take_while(|c| is_ident_char(c) || c == b'\\');
                    self.push(Tok::Ident(name), line, start);
                }
                c if is_ident_start(c) => {
                    let name = self.take_while(|c| is_ident_char(c) || c == b'\\');
                    self.push(Tok::Ident(name), line, start);
                }
                _ => {
                    let op = OPERATORS.iter().chain(SINGLE_OPERATORS.iter()).find(|op| self.starts_with(op)).copied();
                    match op {
                        Some(op) => {
                            self.advance(op.len());
                            self.push(Tok::Op(op), line, start);
                        }
                        None => {
                            return Err(SettingsPhpError::Invalid(format!(
                                "settings.php line {line}: unexpected character {:?}",
                                self.src.get(self.pos..).and_then(|s| s.chars().next()).unwrap_or('?')
                            )));
                        }
                    }
                }
            }
        }
        Ok(self.out)
    }

    /// Outside `<?php … ?>`: skip to the next opening tag.
    fn skip_inline_html(&mut self) {
        while self.pos < self.bytes.len() {
            if self.starts_with_ci("<?php") {
                self.advance(5);
                return;
            }
            if self.starts_with("<?=") {
                self.advance(3);
                return;
            }
            if self.starts_with("<?") {
                self.advance(2);
                return;
            }
            self.advance(1);
        }
    }

    /// `//` and `#` comments end at the line end or at `?>`.
    fn line_comment(&mut self) {
        while let Some(b) = self.at(0) {
            if b == b'\n' || self.starts_with("?>") {
                return;
            }
            self.advance(1);
        }
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> String {
        let start = self.pos;
        while self.at(0).is_some_and(&pred) {
            self.advance(1);
        }
        String::from_utf8_lossy(self.bytes.get(start..self.pos).unwrap_or_default()).into_owned()
    }

    fn unterminated(&self, what: &str, line: usize) -> SettingsPhpError {
        SettingsPhpError::Invalid(format!("settings.php line {line}: unterminated {what}"))
    }

    /// `'…'`: only `\'` and `\\` are escapes.
    fn single_quoted(&mut self) -> Result<String, SettingsPhpError> {
        let line = self.line;
        self.advance(1);
        let mut value = Vec::new();
        loop {
            match self.at(0) {
                None => return Err(self.unterminated("string", line)),
                Some(b'\'') => {
                    self.advance(1);
                    return Ok(String::from_utf8_lossy(&value).into_owned());
                }
                Some(b'\\') if matches!(self.at(1), Some(b'\'' | b'\\')) => {
                    value.extend(self.at(1));
                    self.advance(2);
                }
                Some(b) => {
                    value.push(b);
                    self.advance(1);
                }
            }
        }
    }

    /// `"…"` (or a backtick string): PHP's escapes; `dynamic` when it interpolates a variable.
    fn double_quoted(&mut self, quote: u8) -> Result<(String, bool), SettingsPhpError> {
        let line = self.line;
        self.advance(1);
        let mut value = Vec::new();
        let mut dynamic = false;
        loop {
            let Some(b) = self.at(0) else {
                return Err(self.unterminated("string", line));
            };
            if b == quote {
                self.advance(1);
                return Ok((String::from_utf8_lossy(&value).into_owned(), dynamic));
            }
            if b == b'$' && self.at(1).is_some_and(|c| is_ident_start(c) || c == b'{') {
                dynamic = true;
            }
            if b == b'{' && self.at(1) == Some(b'$') {
                dynamic = true;
            }
            if b != b'\\' {
                value.push(b);
                self.advance(1);
                continue;
            }
            let Some(e) = self.at(1) else {
                return Err(self.unterminated("string", line));
            };
            let simple = match e {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'v' => Some(0x0b),
                b'e' => Some(0x1b),
                b'f' => Some(0x0c),
                b'\\' => Some(b'\\'),
                b'$' => Some(b'$'),
                _ if e == quote => Some(quote),
                _ => None,
            };
            if let Some(c) = simple {
                value.push(c);
                self.advance(2);
            } else if (b'0'..=b'7').contains(&e) {
                self.advance(1);
                let mut n: u32 = 0;
                let mut digits = 0;
                while digits < 3 && self.at(0).is_some_and(|c| (b'0'..=b'7').contains(&c)) {
                    n = n * 8 + u32::from(self.at(0).unwrap_or(b'0') - b'0');
                    digits += 1;
                    self.advance(1);
                }
                value.push((n & 0xff) as u8);
            } else if e == b'x' && self.at(2).is_some_and(|c| c.is_ascii_hexdigit()) {
                self.advance(2);
                let mut n: u32 = 0;
                let mut digits = 0;
                while digits < 2 {
                    let Some(d) = self.at(0).and_then(|c| char::from(c).to_digit(16)) else { break };
                    n = n * 16 + d;
                    digits += 1;
                    self.advance(1);
                }
                value.push((n & 0xff) as u8);
            } else if e == b'u' && self.at(2) == Some(b'{') {
                let close = self.bytes.get(self.pos + 3..).and_then(|rest| rest.iter().position(|&c| c == b'}'));
                let code = close
                    .and_then(|len| self.src.get(self.pos + 3..self.pos + 3 + len))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                match (code, close) {
                    (Some(c), Some(len)) => {
                        let mut buf = [0u8; 4];
                        value.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        self.advance(len + 4);
                    }
                    _ => {
                        return Err(SettingsPhpError::Invalid(format!(
                            "settings.php line {}: invalid \\u{{…}} escape",
                            self.line
                        )));
                    }
                }
            } else {
                // Unknown escapes stay as written.
                value.push(b'\\');
                self.advance(1);
            }
        }
    }

    /// `<<<ID … ID` and `<<<'ID' … ID`: skipped whole, as an opaque string.
    fn heredoc(&mut self) -> Result<(), SettingsPhpError> {
        let line = self.line;
        self.advance(3);
        while matches!(self.at(0), Some(b' ' | b'\t')) {
            self.advance(1);
        }
        let quote = self.at(0).filter(|&c| c == b'\'' || c == b'"');
        if quote.is_some() {
            self.advance(1);
        }
        let id = self.take_while(is_ident_char);
        if id.is_empty() {
            return Err(SettingsPhpError::Invalid(format!("settings.php line {line}: malformed heredoc")));
        }
        if quote.is_some() {
            self.advance(1);
        }
        // The body ends at a line whose first non-blank text is the identifier.
        loop {
            while self.at(0).is_some_and(|c| c != b'\n') {
                self.advance(1);
            }
            if self.at(0).is_none() {
                return Err(self.unterminated("heredoc", line));
            }
            self.advance(1);
            while matches!(self.at(0), Some(b' ' | b'\t')) {
                self.advance(1);
            }
            if self.starts_with(&id) && !self.at(id.len()).is_some_and(is_ident_char) {
                self.advance(id.len());
                return Ok(());
            }
        }
    }

    fn number(&mut self) -> Tok {
        let text = self.take_while(|c| is_ident_char(c) || c == b'.');
        // A float's exponent sign: 1e+5.
        if (text.ends_with('e') || text.ends_with('E'))
            && !text.starts_with("0x")
            && !text.starts_with("0X")
            && matches!(self.at(0), Some(b'+' | b'-'))
        {
            self.advance(1);
            let _ = self.take_while(|c| c.is_ascii_digit());
            return Tok::Num;
        }
        let clean = text.replace('_', "");
        let lower = clean.to_ascii_lowercase();
        let parsed = if let Some(hex) = lower.strip_prefix("0x") {
            i64::from_str_radix(hex, 16).ok()
        } else if let Some(bin) = lower.strip_prefix("0b") {
            i64::from_str_radix(bin, 2).ok()
        } else if let Some(oct) = lower.strip_prefix("0o") {
            i64::from_str_radix(oct, 8).ok()
        } else if let Some(oct) = lower.strip_prefix('0').filter(|rest| !rest.is_empty()) {
            i64::from_str_radix(oct, 8).ok()
        } else {
            lower.parse::<i64>().ok()
        };
        match parsed {
            Some(n) => Tok::Int(n),
            None => Tok::Num,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reader: statements, assignments, array literals
// ---------------------------------------------------------------------------------------------

struct Include {
    token: usize,
    line: usize,
    name: String,
}

struct Outcome {
    /// The value of `$databases['default']['default']` at the end of the file.
    connection: Option<Val>,
    /// Token index where the last assignment affecting it ended (0: none), and its line.
    last_assignment_token: usize,
    last_assignment_line: usize,
    includes: Vec<Include>,
    /// The last literal `$settings['config_sync_directory'] = '…';`.
    config_sync_directory: Option<String>,
}

/// One `[…]` of `$databases[…][…] = …`.
#[derive(Debug, Clone, PartialEq)]
enum PathKey {
    Str(String),
    Int(i64),
    /// `[]`
    Append,
    /// `[$k]`, `[FOO]`, …
    Opaque,
}

struct Reader<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
}

fn is_op(t: Option<&Token>, op: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Op(o), .. }) if *o == op)
}

const ASSIGNMENT_OPS: &[&str] =
    &["=", "+=", "-=", "*=", "/=", ".=", "%=", "**=", "??=", "&=", "|=", "^=", "<<=", ">>="];

impl Reader<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.toks.get(self.pos + offset)
    }

    fn line(&self) -> usize {
        self.peek().or_else(|| self.toks.last()).map_or(1, |t| t.line)
    }

    /// The source text of tokens `from..to`, on one line and shortened.
    fn snippet(&self, from: usize, to: usize) -> String {
        let (Some(first), Some(last)) = (self.toks.get(from), to.checked_sub(1).and_then(|i| self.toks.get(i))) else {
            return String::new();
        };
        let raw = self.src.get(first.start..last.end).unwrap_or_default();
        let one_line = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 60 {
            let short: String = one_line.chars().take(57).collect();
            format!("{short}...")
        } else {
            one_line
        }
    }

    fn eof(&self, what: &str, line: usize) -> SettingsPhpError {
        SettingsPhpError::Invalid(format!("settings.php ends inside {what} starting at line {line}"))
    }

    /// Walk all statements, applying `$databases` assignments in order.
    fn scan(&mut self) -> Result<Outcome, SettingsPhpError> {
        let mut out = Outcome {
            connection: None,
            last_assignment_token: 0,
            last_assignment_line: 0,
            includes: Vec::new(),
            config_sync_directory: None,
        };
        while let Some(tok) = self.peek() {
            let prev_is_member = self.pos > 0
                && (is_op(self.toks.get(self.pos - 1), "::")
                    || is_op(self.toks.get(self.pos - 1), "->")
                    || is_op(self.toks.get(self.pos - 1), "?->"));
            match &tok.tok {
                Tok::Var(name) if name == "databases" && !prev_is_member => self.assignment(&mut out)?,
                Tok::Var(name) if name == "settings" && !prev_is_member => {
                    if let Some(dir) = self.sync_directory() {
                        out.config_sync_directory = Some(dir);
                    }
                }
                Tok::Ident(name) if !prev_is_member => {
                    let name = name.to_ascii_lowercase();
                    match name.as_str() {
                        "function" | "class" | "interface" | "trait" | "enum" => self.skip_declaration(),
                        "include" | "include_once" | "require" | "require_once" => {
                            let include = self.include();
                            out.includes.push(include);
                        }
                        _ => self.pos += 1,
                    }
                }
                _ => self.pos += 1,
            }
        }
        Ok(out)
    }

    /// Skip a function or class declaration including its `{ … }` body: variables in there are
    /// local. (A closure's body is skipped too, which is just as right.)
    fn skip_declaration(&mut self) {
        // `enum` is also an ordinary name (e.g. a constant); only a `{` before `;` makes a body.
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match &t.tok {
                Tok::Op("(") | Tok::Op("[") => depth += 1,
                Tok::Op(")") | Tok::Op("]") => depth = depth.saturating_sub(1),
                Tok::Op(";") if depth == 0 => return,
                Tok::Op("{") if depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        let mut braces = 0usize;
        while let Some(t) = self.peek() {
            match &t.tok {
                Tok::Op("{") => braces += 1,
                Tok::Op("}") => {
                    braces = braces.saturating_sub(1);
                    if braces == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// `include …;`: note the file name (its last string literal) and move past the statement.
    fn include(&mut self) -> Include {
        let token = self.pos;
        let line = self.line();
        self.pos += 1;
        let start = self.pos;
        let mut name = None;
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match &t.tok {
                Tok::Op("(") | Tok::Op("[") | Tok::Op("{") => depth += 1,
                Tok::Op(")") | Tok::Op("]") | Tok::Op("}") if depth == 0 => break,
                Tok::Op(")") | Tok::Op("]") | Tok::Op("}") => depth -= 1,
                Tok::Op(";") | Tok::Op(",") if depth == 0 => break,
                Tok::Str { value, .. } if !value.is_empty() => name = Some(value.trim_start_matches('/').to_string()),
                _ => {}
            }
            self.pos += 1;
        }
        let name = match name {
            Some(n) if !n.is_empty() => n,
            _ => format!("`{}`", self.snippet(start, self.pos)),
        };
        Include { token, line, name }
    }

    /// At `$settings`: the value of `['config_sync_directory'] = '<literal>';`, stepping past it;
    /// anything else is stepped over one token.
    fn sync_directory(&mut self) -> Option<String> {
        let key = matches!(self.peek_at(2), Some(Token { tok: Tok::Str { value, .. }, .. }) if value == "config_sync_directory");
        let shape = is_op(self.peek_at(1), "[")
            && key
            && is_op(self.peek_at(3), "]")
            && is_op(self.peek_at(4), "=")
            && is_op(self.peek_at(6), ";");
        let value = match self.peek_at(5) {
            Some(Token { tok: Tok::Str { value, dynamic: false }, .. }) if shape => Some(value.clone()),
            _ => None,
        };
        self.pos += if value.is_some() { 7 } else { 1 };
        value
    }

    /// At `$databases`: if it is an assignment, read and apply it; otherwise step over it.
    fn assignment(&mut self, out: &mut Outcome) -> Result<(), SettingsPhpError> {
        let start = self.pos;
        let line = self.line();
        self.pos += 1;
        let mut path = Vec::new();
        while is_op(self.peek(), "[") {
            self.pos += 1;
            if is_op(self.peek(), "]") {
                self.pos += 1;
                path.push(PathKey::Append);
                continue;
            }
            let key = self.expr(false, line)?;
            if !is_op(self.peek(), "]") {
                // `$databases[…` that we cannot follow: not an assignment we understand.
                self.pos = start + 1;
                return Ok(());
            }
            self.pos += 1;
            path.push(match key.kind {
                Kind::Str(s) => PathKey::Str(s),
                Kind::Int(i) => PathKey::Int(i),
                _ => PathKey::Opaque,
            });
        }
        let op = match self.peek() {
            Some(Token { tok: Tok::Op(op), .. }) if ASSIGNMENT_OPS.contains(op) => *op,
            _ => {
                // A read such as `empty($databases['default'])`.
                self.pos = start + 1;
                return Ok(());
            }
        };
        self.pos += 1;
        let value_line = self.line();
        let mut value = self.expr(false, line)?;
        if op != "=" {
            value = Val { kind: Kind::Opaque(self.snippet(start, self.pos)), line: value_line };
        }
        if apply(&mut out.connection, &path, value, line) {
            out.last_assignment_token = self.pos;
            out.last_assignment_line = line;
        }
        Ok(())
    }

    /// One expression, up to `,` `;` or a closing bracket (and `=>` when `stop_at_arrow`).
    /// Literals and array literals become values; anything else is opaque.
    fn expr(&mut self, stop_at_arrow: bool, stmt_line: usize) -> Result<Val, SettingsPhpError> {
        let start = self.pos;
        let line = self.line();
        if let Some(v) = self.literal(stmt_line)?
            && self.at_expr_end(stop_at_arrow)
        {
            return Ok(v);
        }
        self.pos = start;
        self.skip_expr(stop_at_arrow, stmt_line)?;
        if self.pos == start {
            return Err(SettingsPhpError::Invalid(format!("settings.php line {line}: expected a value")));
        }
        Ok(Val { kind: Kind::Opaque(self.snippet(start, self.pos)), line })
    }

    fn at_expr_end(&self, stop_at_arrow: bool) -> bool {
        match self.peek() {
            None => true,
            Some(Token { tok: Tok::Op(op), .. }) => {
                matches!(*op, "," | ";" | "]" | ")" | "}") || (stop_at_arrow && *op == "=>")
            }
            Some(_) => false,
        }
    }

    fn skip_expr(&mut self, stop_at_arrow: bool, stmt_line: usize) -> Result<(), SettingsPhpError> {
        let operand = |t: &Token| matches!(t.tok, Tok::Str { .. } | Tok::Int(_) | Tok::Num | Tok::Var(_));
        let mut depth = 0usize;
        let mut prev_operand = false;
        loop {
            let Some(t) = self.peek() else {
                return Err(self.eof("the $databases assignment", stmt_line));
            };
            // Two operands in a row (`'a' 'b'`) is a PHP syntax error, typically a missing comma.
            if prev_operand && operand(t) {
                return Err(SettingsPhpError::Invalid(format!(
                    "settings.php line {}: syntax error (missing ',' or operator?) in the $databases assignment \
                     starting at line {stmt_line}",
                    t.line
                )));
            }
            prev_operand = operand(t);
            match &t.tok {
                Tok::Op("(") | Tok::Op("[") | Tok::Op("{") | Tok::Op("#[") => depth += 1,
                Tok::Op(")") | Tok::Op("]") | Tok::Op("}") => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                Tok::Op(",") | Tok::Op(";") if depth == 0 => return Ok(()),
                Tok::Op("=>") if depth == 0 && stop_at_arrow => return Ok(()),
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// A literal at the cursor, or `None` (cursor unspecified) when it is not one.
    fn literal(&mut self, stmt_line: usize) -> Result<Option<Val>, SettingsPhpError> {
        let Some(t) = self.peek() else { return Ok(None) };
        let line = t.line;
        let kind = match &t.tok {
            Tok::Str { value, dynamic: false } => Kind::Str(value.clone()),
            Tok::Int(n) => Kind::Int(*n),
            Tok::Op(sign @ ("-" | "+")) => {
                let negative = *sign == "-";
                match self.peek_at(1) {
                    Some(Token { tok: Tok::Int(n), .. }) => {
                        let n = *n;
                        self.pos += 1;
                        Kind::Int(if negative { n.saturating_neg() } else { n })
                    }
                    _ => return Ok(None),
                }
            }
            Tok::Op("[") => {
                self.pos += 1;
                let entries = self.array("]", line, stmt_line)?;
                return Ok(Some(Val { kind: Kind::Array(entries), line }));
            }
            Tok::Ident(name) if name.eq_ignore_ascii_case("array") && is_op(self.peek_at(1), "(") => {
                self.pos += 2;
                let entries = self.array(")", line, stmt_line)?;
                return Ok(Some(Val { kind: Kind::Array(entries), line }));
            }
            Tok::Ident(name) if name.eq_ignore_ascii_case("true") || name.eq_ignore_ascii_case("\\true") => {
                Kind::Bool(true)
            }
            Tok::Ident(name) if name.eq_ignore_ascii_case("false") || name.eq_ignore_ascii_case("\\false") => {
                Kind::Bool(false)
            }
            Tok::Ident(name) if name.eq_ignore_ascii_case("null") || name.eq_ignore_ascii_case("\\null") => Kind::Null,
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(Val { kind, line }))
    }

    /// The entries of an array literal, after its opening bracket, through `close`.
    fn array(&mut self, close: &str, open_line: usize, stmt_line: usize) -> Result<Vec<(Key, Val)>, SettingsPhpError> {
        let mut entries = Vec::new();
        let mut next_index: i64 = 0;
        loop {
            if self.peek().is_none() {
                return Err(self.eof("the array", open_line));
            }
            if is_op(self.peek(), close) {
                self.pos += 1;
                return Ok(entries);
            }
            let first = self.expr(true, stmt_line)?;
            let (key, value) = if is_op(self.peek(), "=>") {
                self.pos += 1;
                let value = self.expr(false, stmt_line)?;
                let key = match first.kind {
                    Kind::Str(s) => Key::Str(s),
                    Kind::Int(i) => Key::Int(i),
                    Kind::Bool(b) => Key::Int(i64::from(b)),
                    Kind::Null => Key::Str(String::new()),
                    Kind::Array(_) | Kind::Opaque(_) => Key::Opaque,
                };
                (key, value)
            } else {
                (Key::Int(next_index), first)
            };
            if let Key::Int(i) = key {
                next_index = next_index.max(i.saturating_add(1));
            }
            entries.push((key, value));
            match self.peek() {
                Some(t) if t.tok == Tok::Op(",") => self.pos += 1,
                Some(t) if matches!(&t.tok, Tok::Op(op) if *op == close) => {}
                Some(t) => {
                    return Err(SettingsPhpError::Invalid(format!(
                        "settings.php line {}: expected ',' or '{close}' in the array starting at line {open_line}",
                        t.line
                    )));
                }
                None => return Err(self.eof("the array", open_line)),
            }
        }
    }
}

/// Apply `$databases['default']['default']['prefix'][<rest>] = value`: one entry of a per-table
/// prefix array. PHP creates the array when 'prefix' is unset or null; anything else (a string
/// indexed like an array, a deeper or computed key) is kept as something we cannot evaluate.
fn set_table_prefix(conn: &mut Option<Val>, rest: &[PathKey], value: Val, line: usize) {
    let fresh = |entries: Vec<(Key, Val)>| Val { kind: Kind::Array(entries), line };
    let opaque = |what: &str| Val { kind: Kind::Opaque(what.to_string()), line };
    let target = conn.get_or_insert_with(|| fresh(Vec::new()));
    let entries = match &mut target.kind {
        Kind::Array(entries) => entries,
        Kind::Opaque(_) => return,
        _ => {
            *target = opaque("a scalar indexed like an array");
            return;
        }
    };
    let key = match rest {
        [PathKey::Str(table)] => Key::Str(table.clone()),
        [PathKey::Int(i)] => Key::Int(*i),
        [PathKey::Opaque] => Key::Opaque,
        _ => {
            entries.push((Key::Str("prefix".into()), opaque("a nested assignment to 'prefix'")));
            return;
        }
    };
    let existing = entries.iter_mut().rev().find(|(k, _)| matches!(k, Key::Str(s) if s == "prefix"));
    match existing {
        None => entries.push((Key::Str("prefix".into()), fresh(vec![(key, value)]))),
        Some((_, Val { kind: Kind::Array(prefixes), .. })) => prefixes.push((key, value)),
        Some((_, slot @ Val { kind: Kind::Null, .. })) => *slot = fresh(vec![(key, value)]),
        Some((_, Val { kind: Kind::Opaque(_), .. })) => {}
        Some((_, slot)) => *slot = opaque("a string prefix indexed like an array"),
    }
}

/// Apply `$databases<path> = value` to the tracked `$databases['default']['default']`.
/// Returns whether the assignment concerned it.
fn apply(conn: &mut Option<Val>, path: &[PathKey], value: Val, line: usize) -> bool {
    fn is_default(k: &PathKey) -> bool {
        matches!(k, PathKey::Str(s) if s == "default")
    }
    /// `default`, or a computed key that might be `default`.
    fn maybe_default(k: &PathKey) -> bool {
        is_default(k) || *k == PathKey::Opaque
    }
    let computed = Val { kind: Kind::Opaque("an assignment with a computed key".into()), line };
    match path {
        [] => {
            *conn = descend(value, &["default", "default"]);
            true
        }
        [a] if is_default(a) => {
            *conn = descend(value, &["default"]);
            true
        }
        [a, b] if is_default(a) && is_default(b) => {
            *conn = Some(value);
            true
        }
        [a, b, key, rest @ ..] if is_default(a) && is_default(b) => {
            let key = match key {
                PathKey::Str(k) => k.clone(),
                PathKey::Int(_) | PathKey::Append => return false,
                PathKey::Opaque => {
                    *conn = Some(computed);
                    return true;
                }
            };
            let value = if rest.is_empty() {
                value
            } else if key == "prefix" {
                // $databases['default']['default']['prefix']['users'] = 'shared_';
                set_table_prefix(conn, rest, value, line);
                return true;
            } else if NEEDED_KEYS.contains(&key.as_str()) {
                Val { kind: Kind::Opaque(format!("a nested assignment to '{key}'")), line }
            } else {
                // e.g. ['pdo'][PDO::MYSQL_ATTR_SSL_CA]: not ours.
                return false;
            };
            match conn {
                None => *conn = Some(Val { kind: Kind::Array(vec![(Key::Str(key), value)]), line }),
                Some(Val { kind: Kind::Array(entries), .. }) => entries.push((Key::Str(key), value)),
                Some(Val { kind: Kind::Opaque(_), .. }) => {}
                Some(other) => *other = Val { kind: Kind::Opaque("a scalar indexed like an array".into()), line },
            }
            true
        }
        // A computed key where 'default' is expected may hit the connection: we cannot tell.
        [PathKey::Opaque] => {
            *conn = Some(computed);
            true
        }
        [a, b, ..] if maybe_default(a) && maybe_default(b) => {
            *conn = Some(computed);
            true
        }
        _ => false,
    }
}

/// `value[k1][k2]…`, or `None` when a key is missing.
fn descend(value: Val, keys: &[&str]) -> Option<Val> {
    let mut current = value;
    for key in keys {
        current = match current.kind {
            Kind::Array(entries) => {
                let found = entries.into_iter().rev().find(|(k, _)| matches!(k, Key::Str(s) if s == key))?;
                found.1
            }
            Kind::Opaque(_) => return Some(current),
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Modeled on Drupal 10's sites/default/default.settings.php: long doc comments with example
    /// arrays (all commented out), `$databases = [];`, a commented-out settings.local.php include,
    /// and what the installer appends at the end.
    const DRUPAL10_DEFAULT_SETTINGS: &str = r#"<?php

// phpcs:ignoreFile

/**
 * @file
 * Drupal site-specific configuration file.
 *
 * IMPORTANT NOTE:
 * This file may have been set to read-only by the Drupal installation program.
 */

/**
 * Database settings:
 *
 * The $databases array specifies the database connection or
 * connections that Drupal may use.  Drupal is able to connect
 * to multiple databases, including multiple types of databases,
 * during the same request.
 *
 * One example of the simplest connection array is shown below. To use the
 * sample settings, copy and uncomment the code below between the @code and
 * @endcode lines and paste it after the $databases declaration. You will need
 * to replace the database username and password and possibly the host and port
 * with the appropriate credentials for your database system.
 *
 * @code
 * $databases['default']['default'] = [
 *   'database' => 'databasename',
 *   'username' => 'sqlusername',
 *   'password' => 'sqlpassword',
 *   'host' => 'localhost',
 *   'port' => '3306',
 *   'driver' => 'mysql',
 *   'prefix' => '',
 *   'collation' => 'utf8mb4_general_ci',
 * ];
 * @endcode
 */
$databases = [];

/**
 * Customizing database settings.
 *
 * @code
 * $databases['default']['default'] = [
 *   'driver' => 'pgsql',
 *   'database' => 'databasename',
 *   'username' => 'sqlusername',
 *   'password' => 'sqlpassword',
 *   'host' => 'localhost',
 *   'prefix' => '',
 * ];
 * @endcode
 *
 * Sample Database configuration format for SQLite (sqlite):
 * @code
 *   $databases['default']['default'] = [
 *     'driver' => 'sqlite',
 *     'database' => '/path/to/databasefilename',
 *   ];
 * @endcode
 */

# $settings['config_sync_directory'] = '/directory/outside/webroot';

$settings['hash_salt'] = '';

$settings['update_free_access'] = FALSE;

# $settings['reverse_proxy_addresses'] = ['a.b.c.d', ...];

$settings['container_yamls'][] = $app_root . '/' . $site_path . '/services.yml';

$settings['file_scan_ignore_directories'] = [
  'node_modules',
  'bower_components',
];

$settings['entity_update_batch_size'] = 50;

$settings['entity_update_backup'] = TRUE;

$settings['migrate_node_migrate_type_classic'] = FALSE;

/**
 * Load local development override configuration, if available.
 */
#
# if (file_exists($app_root . '/' . $site_path . '/settings.local.php')) {
#   include $app_root . '/' . $site_path . '/settings.local.php';
# }
"#;

    const INSTALLER_APPENDED: &str = r#"
$databases['default']['default'] = array (
  'database' => 'drupal',
  'username' => 'drupal',
  'password' => 'drupal',
  'prefix' => '',
  'host' => 'db',
  'port' => '3306',
  'isolation_level' => 'READ COMMITTED',
  'driver' => 'mysql',
  'namespace' => 'Drupal\\mysql\\Driver\\Database\\mysql',
  'autoload' => 'core/modules/mysql/src/Driver/Database/mysql/',
);
$settings['config_sync_directory'] = 'sites/default/files/config_Xy12/sync';
"#;

    type TestResult = Result<(), SettingsPhpError>;

    fn parse(php: &str) -> Result<DrupalDatabase, SettingsPhpError> {
        parse_settings(php)
    }

    fn unsupported(php: &str) -> String {
        match parse_settings(php) {
            Err(SettingsPhpError::Unsupported(msg)) => msg,
            other => format!("expected Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn drupal10_default_settings_alone_has_no_connection() -> TestResult {
        assert_eq!(parse_settings(DRUPAL10_DEFAULT_SETTINGS), Err(SettingsPhpError::NotFound { includes: vec![] }));
        Ok(())
    }

    #[test]
    fn drupal10_installed_site() -> TestResult {
        let php = format!("{DRUPAL10_DEFAULT_SETTINGS}{INSTALLER_APPENDED}");
        let db = parse(&php)?;
        assert_eq!(
            db,
            DrupalDatabase {
                driver: "mysql".into(),
                host: "db".into(),
                port: Some(3306),
                database: "drupal".into(),
                username: "drupal".into(),
                password: "drupal".into(),
                prefix: String::new(),
                prefixes: BTreeMap::new(),
                unix_socket: None,
                config_sync_directory: Some("sites/default/files/config_Xy12/sync".into()),
                cache: Default::default(),
                warnings: vec![],
            }
        );
        assert_eq!(db.url(), "mysql://drupal:drupal@db:3306/drupal");
        Ok(())
    }

    #[test]
    fn short_array_syntax_any_key_order_comments_and_nested_arrays() -> TestResult {
        let php = r#"<?php
        $databases['default']['default'] = [ // the main connection
          'driver' => 'mysql', # comment
          'pdo' => [
            PDO::MYSQL_ATTR_SSL_CA => '/etc/ssl/ca.pem',
            \PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => FALSE,
            PDO::MYSQL_ATTR_SSL_KEY => getenv('SSL_KEY'),
          ],
          /* 'host' => 'commented-out', */
          'host' => /* inline */ '10.0.0.5',
          'init_commands' => ['isolation_level' => 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', 'x' => [1, [2, 3]]],
          'password' => 'secret',
          'port' => 3307,
          'username' => 'web',
          'database' => 'site',
          'prefix' => 'd10_',
          'collation' => 'utf8mb4_general_ci',
          'namespace' => 'Drupal\\mysql\\Driver\\Database\\mysql',
          'autoload' => 'core/modules/mysql/src/Driver/Database/mysql/',
        ];
        "#;
        let db = parse(php)?;
        assert_eq!(db.host, "10.0.0.5");
        assert_eq!(db.port, Some(3307));
        assert_eq!((db.username.as_str(), db.password.as_str(), db.database.as_str()), ("web", "secret", "site"));
        assert_eq!(db.prefix, "d10_");
        assert_eq!(db.url(), "mysql://web:secret@10.0.0.5:3307/site");
        Ok(())
    }

    #[test]
    fn whole_databases_array_and_default_level_forms() -> TestResult {
        let whole = "<?php $databases = [ 'default' => [ 'default' => [ 'database' => 'a', 'username' => 'u', 'host' => 'h' ] ], 'migrate' => ['default' => ['database' => 'd7']] ];";
        let db = parse(whole)?;
        assert_eq!((db.database.as_str(), db.host.as_str(), db.port), ("a", "h", None));

        let level1 = "<?php\n$databases['default'] = ['default' => ['database' => 'b', 'username' => 'u'], 'replica' => [['database' => 'r']]];";
        let db = parse(level1)?;
        assert_eq!(db.database, "b");
        assert_eq!(db.host, "localhost");
        assert_eq!(db.url(), "mysql://u@localhost/b");
        Ok(())
    }

    #[test]
    fn drupal7_array_syntax() -> TestResult {
        let php = r#"<?php
/**
 * D7 docs:
 *   $databases['default']['default'] = array(
 *     'driver' => 'mysql',
 *     'database' => 'databasename',
 *   );
 */
$databases = array();
$databases = array (
  'default' =>
  array (
    'default' =>
    array (
      'database' => 'drupal7',
      'username' => 'd7user',
      'password' => 'd7pass',
      'host' => 'localhost',
      'port' => '',
      'driver' => 'mysql',
      'prefix' => '',
    ),
  ),
);
"#;
        let db = parse(php)?;
        assert_eq!(db.database, "drupal7");
        assert_eq!(db.port, None);
        assert_eq!(db.url(), "mysql://d7user:d7pass@localhost/drupal7");

        let php = "<?php\n$databases['default']['default'] = ARRAY('driver' => 'mysql', 'database' => 'x', 'username' => 'y', 'password' => 'z', 'host' => 'h', 'prefix' => array('default' => 'main_'));";
        let db = parse(php)?;
        assert_eq!(db.prefix, "main_");
        Ok(())
    }

    #[test]
    fn string_escapes() -> TestResult {
        let php = r#"<?php
$databases['default']['default'] = [
  'database' => "dr\x75pal",
  'username' => 'it\'s\\me\n',
  'password' => "a\"b\\c\$d\te\101\u{e9}\q",
  'host' => "db",
];"#;
        let db = parse(php)?;
        assert_eq!(db.database, "drupal");
        assert_eq!(db.username, "it's\\me\\n");
        assert_eq!(db.password, "a\"b\\c$d\teA\u{e9}\\q");
        Ok(())
    }

    #[test]
    fn special_characters_are_percent_encoded() -> TestResult {
        let php = "<?php $databases['default']['default'] = ['database' => 'my db', 'username' => 'us:er@x', 'password' => 'p@ss:w/rd#%', 'host' => 'db', 'port' => 3306];";
        let db = parse(php)?;
        assert_eq!(db.password, "p@ss:w/rd#%");
        assert_eq!(db.url(), "mysql://us%3Aer%40x:p%40ss%3Aw%2Frd%23%25@db:3306/my%20db");
        Ok(())
    }

    #[test]
    fn port_as_int_string_or_bad() -> TestResult {
        let with =
            |port: &str| format!("<?php $databases['default']['default'] = ['database' => 'd', 'port' => {port}];");
        assert_eq!(parse(&with("3306"))?.port, Some(3306));
        assert_eq!(parse(&with("'3306'"))?.port, Some(3306));
        assert_eq!(parse(&with("\"33060\""))?.port, Some(33060));
        assert_eq!(parse(&with("''"))?.port, None);
        assert_eq!(parse(&with("NULL"))?.port, None);
        assert!(matches!(parse_settings(&with("'abc'")), Err(SettingsPhpError::Invalid(m)) if m.contains("line 1")));
        assert!(matches!(parse_settings(&with("70000")), Err(SettingsPhpError::Invalid(_))));
        Ok(())
    }

    #[test]
    fn unix_socket() -> TestResult {
        let php = "<?php $databases['default']['default'] = ['database' => 'drupal', 'username' => 'root', 'password' => 'pw', 'host' => 'localhost', 'unix_socket' => '/var/run/mysqld/mysqld.sock'];";
        let db = parse(php)?;
        assert_eq!(db.unix_socket.as_deref(), Some("/var/run/mysqld/mysqld.sock"));
        assert_eq!(db.url(), "mysql://root:pw@localhost/drupal?socket=/var/run/mysqld/mysqld.sock");
        Ok(())
    }

    #[test]
    fn ipv6_host() -> TestResult {
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'host' => '::1', 'port' => 3306];";
        assert_eq!(parse(php)?.url(), "mysql://[::1]:3306/d");
        Ok(())
    }

    #[test]
    fn values_we_cannot_evaluate_name_key_and_line() -> TestResult {
        let php = "<?php\n$databases['default']['default'] = [\n  'database' => 'drupal',\n  'host' => getenv('DB_HOST'),\n];\n";
        let msg = unsupported(php);
        assert!(msg.contains("'host' at line 4"), "{msg}");
        assert!(msg.contains("getenv('DB_HOST')"), "{msg}");

        for (value, shown) in [
            ("$_ENV['DB_PASS']", "$_ENV['DB_PASS']"),
            ("DB_PASSWORD", "DB_PASSWORD"),
            ("'se' . 'cret'", "'se' . 'cret'"),
            ("$password", "$password"),
            ("\"pw-$suffix\"", "\"pw-$suffix\""),
            ("getenv('X') ?: 'default'", "getenv('X') ?: 'default'"),
        ] {
            let php =
                format!("<?php\n\n$databases['default']['default'] = ['database' => 'd', 'password' => {value}];");
            let msg = unsupported(&php);
            assert!(msg.contains("'password' at line 3"), "{msg}");
            assert!(msg.contains(shown), "{msg}");
        }

        // A single-key override after a literal array.
        let php = "<?php\n$databases['default']['default'] = ['database' => 'd', 'password' => 'x'];\n$databases['default']['default']['password'] = getenv('DB_PASS');\n";
        assert!(unsupported(php).contains("'password' at line 3"));

        // The whole connection computed.
        let php = "<?php\n$databases['default']['default'] = json_decode(file_get_contents('/run/db.json'), TRUE);";
        let msg = unsupported(php);
        assert!(msg.contains("line 2") && msg.contains("json_decode("), "{msg}");
        Ok(())
    }

    #[test]
    fn opaque_values_in_keys_we_do_not_need_are_fine() -> TestResult {
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'collation' => getenv('C'), 'init_commands' => ['x' => 'SET ' . $y], 'pdo' => [PDO::A => $z]];";
        assert_eq!(parse(php)?.database, "d");
        Ok(())
    }

    #[test]
    fn includes_after_the_settings_give_a_warning() -> TestResult {
        let php = r#"<?php
$databases['default']['default'] = ['database' => 'drupal', 'username' => 'u'];
if (file_exists($app_root . '/' . $site_path . '/settings.local.php')) {
  include $app_root . '/' . $site_path . '/settings.local.php';
}
"#;
        let db = parse(php)?;
        assert_eq!(db.warnings.len(), 1);
        assert!(
            db.warnings.iter().all(|w| w.contains("settings.local.php at line 4") && w.contains("(line 2)")),
            "{:?}",
            db.warnings
        );

        // An include before the assignment cannot override it.
        let php = "<?php\nrequire_once __DIR__ . '/common.php';\n$databases['default']['default'] = ['database' => 'drupal'];\n";
        assert!(parse(php)?.warnings.is_empty());
        Ok(())
    }

    #[test]
    fn no_assignment_but_an_include_is_not_found_naming_the_include() -> TestResult {
        let php = "<?php\n$settings['hash_salt'] = 'x';\n\ninclude_once($app_root . '/' . $site_path . '/settings.platformsh.php');\n";
        let err = parse_settings(php);
        assert_eq!(err, Err(SettingsPhpError::NotFound { includes: vec!["settings.platformsh.php (line 4)".into()] }));
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("settings.platformsh.php (line 4)") && text.contains("pass that file instead"), "{text}");
        Ok(())
    }

    #[test]
    fn other_drivers_are_unsupported() -> TestResult {
        let msg = unsupported("<?php\n$databases['default']['default'] = ['driver' => 'pgsql', 'database' => 'd'];");
        assert!(msg.contains("'pgsql' (line 2)") && msg.contains("MySQL/MariaDB only"), "{msg}");
        let msg =
            unsupported("<?php $databases['default']['default'] = ['driver' => 'sqlite', 'database' => '/x.sqlite'];");
        assert!(msg.contains("sqlite"), "{msg}");
        // Drupal 11's mysqli driver talks to MySQL too.
        assert_eq!(
            parse("<?php $databases['default']['default'] = ['driver' => 'mysqli', 'database' => 'd'];")?.driver,
            "mysqli"
        );
        Ok(())
    }

    fn prefixes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn drupal7_shared_users_prefix_array() -> TestResult {
        let php = r#"<?php
$databases = array (
  'default' => array (
    'default' => array (
      'database' => 'site2',
      'username' => 'drupal',
      'password' => 'secret',
      'host' => 'localhost',
      'driver' => 'mysql',
      'prefix' => array(
        'default'   => 'main_',
        'users'     => 'shared_',
        'sessions'  => 'shared_',
        'role'      => 'shared_',
        'authmap'   => 'shared_',
      ),
    ),
  ),
);
"#;
        let db = parse(php)?;
        assert_eq!(db.prefix, "main_");
        assert_eq!(
            db.prefixes,
            prefixes(&[("authmap", "shared_"), ("role", "shared_"), ("sessions", "shared_"), ("users", "shared_")])
        );
        Ok(())
    }

    #[test]
    fn per_table_prefixes_may_name_another_database() -> TestResult {
        let php = "<?php\n$databases['default']['default'] = [\n  'database' => 'site2',\n  'prefix' => [\n    'users' => 'shareddb.',\n    'role' => \"shareddb.pfx_\",\n    'sessions' => NULL,\n  ],\n];";
        let db = parse(php)?;
        // No 'default' entry: Drupal puts the others in no prefix.
        assert_eq!(db.prefix, "");
        assert_eq!(db.prefixes, prefixes(&[("role", "shareddb.pfx_"), ("sessions", ""), ("users", "shareddb.")]));
        Ok(())
    }

    #[test]
    fn prefix_array_repeated_key_keeps_the_last() -> TestResult {
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => ['users' => 'a_', 'default' => 'x_', 'users' => 'b_', 'default' => 'y_']];";
        let db = parse(php)?;
        assert_eq!(db.prefix, "y_");
        assert_eq!(db.prefixes, prefixes(&[("users", "b_")]));
        // An array with only 'default' (or nothing) is a plain prefix.
        let db = parse("<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => []];")?;
        assert_eq!((db.prefix.as_str(), db.prefixes.len()), ("", 0));
        Ok(())
    }

    #[test]
    fn per_table_prefixes_assigned_one_by_one() -> TestResult {
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => ['default' => 'p_']];\n$databases['default']['default']['prefix']['users'] = 'shared_';\n$databases['default']['default']['prefix']['role'] = 'shareddb.';";
        let db = parse(php)?;
        assert_eq!(db.prefix, "p_");
        assert_eq!(db.prefixes, prefixes(&[("role", "shareddb."), ("users", "shared_")]));
        // Without a 'prefix' yet (or a null one), PHP creates the array.
        let php = "<?php $databases['default']['default'] = ['database' => 'd'];\n$databases['default']['default']['prefix']['default'] = 'p_';\n$databases['default']['default']['prefix']['users'] = 's_';";
        let db = parse(php)?;
        assert_eq!((db.prefix.as_str(), db.prefixes), ("p_", prefixes(&[("users", "s_")])));
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => NULL];\n$databases['default']['default']['prefix']['users'] = 's_';";
        assert_eq!(parse(php)?.prefixes, prefixes(&[("users", "s_")]));
        // A later whole-array assignment replaces them.
        let php = "<?php $databases['default']['default']['prefix']['users'] = 's_';\n$databases['default']['default'] = ['database' => 'd', 'prefix' => 'p_'];";
        let db = parse(php)?;
        assert_eq!((db.prefix.as_str(), db.prefixes.len()), ("p_", 0));
        Ok(())
    }

    #[test]
    fn per_table_prefixes_that_cannot_be_evaluated_are_refused() -> TestResult {
        let php = "<?php\n$databases['default']['default'] = array(\n  'database' => 'd',\n  'prefix' => array(\n    'default' => 'main_',\n    'users' => getenv('SHARED'),\n  ),\n);";
        let msg = unsupported(php);
        assert!(msg.starts_with("'prefix' at line 6 of settings.php is `getenv("), "{msg}");
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => [PFX => 'a_']];";
        assert!(unsupported(php).contains("computed key"));
        // A string prefix indexed like an array is a PHP error (or worse), not a prefix array.
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => 'p_'];\n$databases['default']['default']['prefix']['users'] = 'shared_';";
        assert!(unsupported(php).contains("a string prefix indexed like an array"));
        let php = "<?php $databases['default']['default'] = ['database' => 'd'];\n$databases['default']['default']['prefix']['users']['x'] = 's_';";
        assert!(unsupported(php).contains("a nested assignment to 'prefix'"));
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => [3 => 'a_']];";
        assert!(parse_settings(php).is_err_and(|e| e.to_string().contains("key 3")));
        Ok(())
    }

    #[test]
    fn last_assignment_wins() -> TestResult {
        let php = r#"<?php
$databases['default']['default'] = ['database' => 'first', 'host' => 'a', 'driver' => 'pgsql'];
$databases['default']['default'] = ['database' => 'second', 'host' => 'b'];
$databases['default']['default']['host'] = 'c';
$databases['default']['default']['pdo'][PDO::MYSQL_ATTR_SSL_CA] = '/ca.pem';
$databases['replica']['default'] = ['database' => 'other'];
if (empty($databases['default']['default']['port'])) {
  $databases['default']['default']['port'] = 3306;
}
"#;
        let db = parse(php)?;
        assert_eq!((db.database.as_str(), db.host.as_str(), db.port), ("second", "c", Some(3306)));

        // An empty $databases at the end removes the connection, as in PHP.
        assert_eq!(
            parse_settings("<?php $databases['default']['default'] = ['database' => 'x']; $databases = [];"),
            Err(SettingsPhpError::NotFound { includes: vec![] })
        );
        // A later literal assignment replaces an earlier computed one.
        let php = "<?php $databases['default']['default'] = ['database' => getenv('DB')]; $databases['default']['default'] = ['database' => 'lit'];";
        assert_eq!(parse(php)?.database, "lit");
        Ok(())
    }

    #[test]
    fn assignments_in_functions_or_comments_do_not_count_but_if_blocks_do() -> TestResult {
        let php = r#"<?php
function example() {
  $databases['default']['default'] = ['database' => 'local-to-function'];
}
$make = function () { $databases = ['default' => ['default' => ['database' => 'closure']]]; };
# $databases['default']['default'] = ['database' => 'hash-comment'];
// $databases['default']['default'] = ['database' => 'slash-comment'];
if (getenv('LANDO')) {
  $databases['default']['default'] = ['database' => 'lando', 'host' => 'database'];
}
else {
  $x = "$databases['default']['default'] = ['database' => 'in-a-string'];";
}
"#;
        let db = parse(php)?;
        assert_eq!((db.database.as_str(), db.host.as_str()), ("lando", "database"));
        Ok(())
    }

    #[test]
    fn inline_html_heredoc_and_close_tag() -> TestResult {
        let php = r#"#!/usr/bin/env php
<html><?php $greeting = <<<EOT
  $databases = ['default' => ['default' => ['database' => 'heredoc']]];
  EOT;
$databases['default']['default'] = ['database' => 'real'] ?>
<p>$databases = [];</p>
<?php
$settings['x'] = 1;"#;
        assert_eq!(parse(php)?.database, "real");
        Ok(())
    }

    #[test]
    fn invalid_files() -> TestResult {
        assert!(
            matches!(parse_settings("<?php\n$x = 'unterminated;\n"), Err(SettingsPhpError::Invalid(m)) if m.contains("line 2"))
        );
        assert!(matches!(
            parse_settings("<?php\n$databases['default']['default'] = ['username' => 'u'];"),
            Err(SettingsPhpError::Invalid(m)) if m.contains("no 'database'")
        ));
        assert!(matches!(
            parse_settings("<?php\n$databases['default']['default'] = ['database' => 'd'"),
            Err(SettingsPhpError::Invalid(m)) if m.contains("line 2")
        ));
        assert!(matches!(
            parse_settings("<?php\n$databases['default']['default'] = ['database' => 'd' 'host' => 'h'];"),
            Err(SettingsPhpError::Invalid(m)) if m.contains("missing ','")
        ));
        assert_eq!(parse_settings(""), Err(SettingsPhpError::NotFound { includes: vec![] }));
        Ok(())
    }

    #[test]
    fn url_without_password_or_user() -> TestResult {
        let mut db = parse(
            "<?php $databases['default']['default'] = ['database' => 'd', 'username' => 'root', 'host' => 'h'];",
        )?;
        assert_eq!(db.url(), "mysql://root@h/d");
        db.username.clear();
        assert_eq!(db.url(), "mysql://h/d");
        Ok(())
    }

    #[test]
    fn truncated_or_odd_input_never_panics() -> TestResult {
        let php = format!("{DRUPAL10_DEFAULT_SETTINGS}{INSTALLER_APPENDED}\"\\u{{zz}}\" <<<'X' \u{e9} 0x 1e+ $ ?>");
        for (cut, _) in php.char_indices() {
            let _ = parse_settings(php.get(..cut).unwrap_or_default());
            let _ = parse_settings(php.get(cut..).unwrap_or_default());
        }
        Ok(())
    }
}
