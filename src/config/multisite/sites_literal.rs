//! sites.php read without PHP: the fallback where there is no PHP, or PHP fails on the file.
//!
//! Drupal's `sites.php` maps request keys (`[port.]host[.path]`) to site directories, in two
//! literal forms this reader understands:
//!
//! ```php
//! $sites['8080.www.example.com.mysite'] = 'mysite';
//! $sites = ['arts.example.edu' => 'arts', "localhost.example" => 'example'];   // or array(…)
//! ```
//!
//! Strings are single- or double-quoted; comments (`//`, `#`, `/* */`) are skipped; an
//! assignment inside `if (…) { … }` counts as if it ran. Any other change to `$sites` (a
//! computed key or value, `+=`, `unset`) cannot be followed without PHP: it is reported as a
//! warning naming its line, and the entries read so far are kept, because a partial host list
//! still lets every site be discovered.

use std::fmt;

/// The entries of sites.php, in the order PHP would hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiteralSites {
    /// `(key, directory)` pairs; a key assigned twice keeps its first position and its last
    /// value, as in a PHP array.
    pub entries: Vec<(String, String)>,
    /// Uses of `$sites` that were skipped, with their line.
    pub warnings: Vec<String>,
}

/// Why sites.php could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sites.php line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LiteralError {}

/// Read the `$sites` entries from the text of a sites.php.
pub fn parse_sites(php: &str) -> Result<LiteralSites, LiteralError> {
    let tokens = tokenize(php)?;
    let mut sites = LiteralSites::default();
    let mut pos = 0;
    while let Some(token) = tokens.get(pos) {
        if !matches!(&token.tok, Tok::Var(name) if name == "sites") {
            pos += 1;
            continue;
        }
        let end = statement_end(&tokens, pos);
        let statement = tokens.get(pos..end).unwrap_or_default();
        if !apply(statement, &mut sites) && changes_sites(&tokens, pos, statement) {
            sites.warnings.push(format!(
                "sites.php line {}: a use of $sites that cannot be read without PHP (only \
                 $sites['host'] = 'directory'; and $sites = [...] with literal strings are); the host names \
                 may be incomplete",
                token.line
            ));
        }
        pos = end.max(pos + 1);
    }
    Ok(sites)
}

/// Apply one `$sites …` statement; false when it is not one of the literal forms.
fn apply(statement: &[Token], sites: &mut LiteralSites) -> bool {
    let toks: Vec<&Tok> = statement.iter().map(|t| &t.tok).collect();
    match toks.as_slice() {
        [_, Tok::Punct('['), Tok::Str(key), Tok::Punct(']'), Tok::Punct('='), Tok::Str(dir)] => {
            set(&mut sites.entries, key, dir);
            true
        }
        [_, Tok::Punct('='), Tok::Punct('['), ..] if closes_last(statement, 2) => {
            replace(statement.get(3..statement.len() - 1), sites)
        }
        [_, Tok::Punct('='), Tok::Word(array), Tok::Punct('('), ..]
            if array.eq_ignore_ascii_case("array") && closes_last(statement, 3) =>
        {
            replace(statement.get(4..statement.len() - 1), sites)
        }
        _ => false,
    }
}

/// Whether a statement the reader could not apply changes `$sites` (`$sites[$k] = …`, `+=`,
/// `unset($sites[…])`); reads (`foreach ($sites as …)`, `isset(…)`) leave the entries as read.
fn changes_sites(tokens: &[Token], pos: usize, statement: &[Token]) -> bool {
    let unset = pos >= 2
        && matches!(tokens.get(pos - 2).map(|t| &t.tok), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("unset"))
        && matches!(tokens.get(pos - 1).map(|t| &t.tok), Some(Tok::Punct('(')));
    let mut depth = 0usize;
    let assigns = statement.iter().any(|token| {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Tok::Punct('=') if depth == 0 => return true,
            _ => {}
        }
        false
    });
    unset || assigns
}

/// Whether the bracket opened at `open` is closed by the statement's last token: `[…]` alone,
/// not `[…] + $more`.
fn closes_last(statement: &[Token], open: usize) -> bool {
    let mut depth = 0usize;
    for (i, token) in statement.iter().enumerate().skip(open) {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1 == statement.len();
                }
            }
            _ => {}
        }
    }
    false
}

/// `$sites = [ … ]`: the array's entries replace what was there. An entry that is not
/// `'key' => 'directory'` is skipped with a warning; the others still count.
fn replace(inner: Option<&[Token]>, sites: &mut LiteralSites) -> bool {
    let Some(inner) = inner else { return false };
    let mut entries = Vec::new();
    for element in split_top_level(inner) {
        let toks: Vec<&Tok> = element.iter().map(|t| &t.tok).collect();
        match toks.as_slice() {
            [] => {} // the trailing comma
            [Tok::Str(key), Tok::Arrow, Tok::Str(dir)] => set(&mut entries, key, dir),
            _ => sites.warnings.push(format!(
                "sites.php line {}: an entry of $sites that cannot be read without PHP; the host names may be \
                 incomplete",
                element.first().map_or(0, |t| t.line)
            )),
        }
    }
    sites.entries = entries;
    true
}

fn set(entries: &mut Vec<(String, String)>, key: &str, dir: &str) {
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = dir.to_string(),
        None => entries.push((key.to_string(), dir.to_string())),
    }
}

/// Where the statement starting at `start` ends: its `;`, or a closing bracket it did not open
/// (`{ $sites[…] = …; }` without the last `;` before `}` is not valid PHP, but stopping there
/// keeps one odd statement from swallowing the rest of the file).
fn statement_end(tokens: &[Token], start: usize) -> usize {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(start) {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') if depth == 0 => return i,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(';') if depth == 0 => return i,
            _ => {}
        }
    }
    tokens.len()
}

/// The elements of an array literal's inside, split at its own commas.
fn split_top_level(inner: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let (mut depth, mut from) = (0usize, 0usize);
    for (i, token) in inner.iter().enumerate() {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => {
                parts.push(inner.get(from..i).unwrap_or_default());
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(inner.get(from..).unwrap_or_default());
    parts
}

// ---------------------------------------------------------------------------------------------
// Tokens: only what the two literal forms need; everything else is an opaque `Other`.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A string PHP takes as written.
    Str(String),
    /// A string PHP would interpolate into (`"$host"`) or that uses an escape we do not decode.
    Dynamic,
    /// `$name`, without the `$`.
    Var(String),
    /// Names, keywords and numbers.
    Word(String),
    /// `=>`
    Arrow,
    /// One of `[ ] ( ) { } = , ;` (`?>` ends a statement too, so it becomes `;`).
    Punct(char),
    /// Any other character or operator.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    src: &'a str,
    line: usize,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn rest_starts_with(&mut self, s: &str) -> bool {
        let at = self.chars.peek().map_or(self.src.len(), |&(i, _)| i);
        self.src.get(at..).is_some_and(|rest| rest.starts_with(s))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next().map(|(_, c)| c);
        if c == Some('\n') {
            self.line += 1;
        }
        c
    }

    fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }
}

fn tokenize(src: &str) -> Result<Vec<Token>, LiteralError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut cur = Cursor { chars: src.char_indices().peekable(), src, line: 1 };
    let mut out = Vec::new();
    skip_to_php(&mut cur);
    while let Some(c) = cur.peek() {
        let line = cur.line;
        let tok = match c {
            c if c.is_whitespace() => {
                cur.bump();
                continue;
            }
            '#' => {
                line_comment(&mut cur);
                continue;
            }
            '/' if cur.rest_starts_with("//") => {
                line_comment(&mut cur);
                continue;
            }
            '/' if cur.rest_starts_with("/*") => {
                cur.skip(2);
                // PHP reads an unterminated comment as running to the end of the file.
                while cur.peek().is_some() && !cur.rest_starts_with("*/") {
                    cur.bump();
                }
                cur.skip(2);
                continue;
            }
            '?' if cur.rest_starts_with("?>") => {
                cur.skip(2);
                skip_to_php(&mut cur);
                Tok::Punct(';')
            }
            '\'' => single_quoted(&mut cur)?,
            '"' => double_quoted(&mut cur)?,
            '$' => {
                cur.bump();
                match word(&mut cur) {
                    name if name.is_empty() => Tok::Other,
                    name => Tok::Var(name),
                }
            }
            '=' if cur.rest_starts_with("=>") => {
                cur.skip(2);
                Tok::Arrow
            }
            // `==`, `===`: comparisons, not assignments.
            '=' if cur.rest_starts_with("==") => {
                cur.skip(2);
                Tok::Other
            }
            '[' | ']' | '(' | ')' | '{' | '}' | '=' | ',' | ';' => {
                cur.bump();
                Tok::Punct(c)
            }
            c if c.is_alphanumeric() || c == '_' || c == '\\' => Tok::Word(word(&mut cur)),
            _ => {
                cur.bump();
                Tok::Other
            }
        };
        out.push(Token { tok, line });
    }
    Ok(out)
}

/// Text before `<?php` (and after `?>`) is output, not code.
fn skip_to_php(cur: &mut Cursor<'_>) {
    while cur.peek().is_some() {
        if cur.rest_starts_with("<?php") {
            cur.skip(5);
            return;
        }
        if cur.rest_starts_with("<?") {
            cur.skip(2);
            return;
        }
        cur.bump();
    }
}

/// `//` and `#` comments end at the line end or at `?>`.
fn line_comment(cur: &mut Cursor<'_>) {
    while let Some(c) = cur.peek() {
        if c == '\n' || cur.rest_starts_with("?>") {
            return;
        }
        cur.bump();
    }
}

fn word(cur: &mut Cursor<'_>) -> String {
    let mut name = String::new();
    while let Some(c) = cur.peek().filter(|&c| c.is_alphanumeric() || c == '_' || c == '\\') {
        name.push(c);
        cur.bump();
    }
    name
}

/// `'…'`: only `\'` and `\\` are escapes.
fn single_quoted(cur: &mut Cursor<'_>) -> Result<Tok, LiteralError> {
    let line = cur.line;
    cur.bump();
    let mut value = String::new();
    loop {
        match cur.bump() {
            None => return Err(unterminated(line)),
            Some('\'') => return Ok(Tok::Str(value)),
            Some('\\') if matches!(cur.peek(), Some('\'' | '\\')) => value.extend(cur.bump()),
            Some(c) => value.push(c),
        }
    }
}

/// `"…"`: the common escapes are decoded; a `$` that starts a variable, or an escape by code
/// (`\x41`, `\u{41}`, `\101`), makes the string one only PHP can read.
fn double_quoted(cur: &mut Cursor<'_>) -> Result<Tok, LiteralError> {
    let line = cur.line;
    cur.bump();
    let mut value = String::new();
    let mut dynamic = false;
    loop {
        match cur.bump() {
            None => return Err(unterminated(line)),
            Some('"') => return Ok(if dynamic { Tok::Dynamic } else { Tok::Str(value) }),
            Some('\\') => match cur.peek() {
                Some(c @ ('"' | '\\' | '$')) => {
                    cur.bump();
                    value.push(c);
                }
                Some('n') => {
                    cur.bump();
                    value.push('\n');
                }
                Some('t') => {
                    cur.bump();
                    value.push('\t');
                }
                Some('r') => {
                    cur.bump();
                    value.push('\r');
                }
                Some('x' | 'u' | '0'..='7' | 'v' | 'e' | 'f') => dynamic = true,
                // PHP keeps an unknown escape as written.
                _ => value.push('\\'),
            },
            Some('$') if cur.peek().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '{') => dynamic = true,
            Some('{') if cur.peek() == Some('$') => dynamic = true,
            Some(c) => value.push(c),
        }
    }
}

fn unterminated(line: usize) -> LiteralError {
    LiteralError { line, message: "a string that is never closed".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(php: &str) -> Vec<(String, String)> {
        parse_sites(php).unwrap().entries
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn single_assignments_in_file_order() {
        let php = r#"<?php
// Drupal's example.sites.php comment: $sites['not.this'] = 'no';
$sites['8080.www.example.com.mysite'] = 'mysite';
$sites["arts.example.edu"] = "arts";   # trailing comment
/* $sites['commented.out'] = 'no'; */
$sites['localhost.example'] = 'example';
"#;
        assert_eq!(
            entries(php),
            pairs(&[
                ("8080.www.example.com.mysite", "mysite"),
                ("arts.example.edu", "arts"),
                ("localhost.example", "example")
            ])
        );
    }

    #[test]
    fn array_literals_replace_and_later_assignments_add() {
        let php = "<?php\n$sites['gone.example'] = 'x';\n$sites = [\n  'a.example' => 'a', // one\n  \"b.example\" => 'b',\n];\n$sites['c.example'] = 'c';\n";
        assert_eq!(entries(php), pairs(&[("a.example", "a"), ("b.example", "b"), ("c.example", "c")]));
        let old = "<?php $sites = array('a.example' => 'a', 'b.example' => 'b');";
        assert_eq!(entries(old), pairs(&[("a.example", "a"), ("b.example", "b")]));
        assert_eq!(entries("<?php $sites = [];"), pairs(&[]));
        let computed = parse_sites("<?php $sites = ['a.example' => 'a'] + $more;").unwrap();
        assert_eq!(computed.entries, pairs(&[]));
        assert_eq!(computed.warnings.len(), 1, "{:?}", computed.warnings);
    }

    #[test]
    fn a_key_assigned_twice_keeps_its_place_and_last_value() {
        let php = "<?php $sites['a.example'] = 'one'; $sites['b.example'] = 'b'; $sites['a.example'] = 'two';";
        assert_eq!(entries(php), pairs(&[("a.example", "two"), ("b.example", "b")]));
    }

    #[test]
    fn escapes_are_read_as_php_reads_them() {
        let php = r#"<?php $sites['it\'s.example'] = 'dir\\x'; $sites["q\"uote.example"] = "d\\q";"#;
        assert_eq!(entries(php), pairs(&[("it's.example", "dir\\x"), ("q\"uote.example", "d\\q")]));
    }

    #[test]
    fn what_needs_php_is_a_warning_with_its_line_and_the_rest_still_counts() {
        let php = "<?php\n$sites['a.example'] = 'a';\n$sites[\"$host.example\"] = 'b';\n$sites['c.example'] = getenv('DIR');\n$sites['d.example'] = 'd';\n";
        let read = parse_sites(php).unwrap();
        assert_eq!(read.entries, pairs(&[("a.example", "a"), ("d.example", "d")]));
        assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
        assert!(read.warnings[0].starts_with("sites.php line 3:"), "{:?}", read.warnings);
        assert!(read.warnings[1].starts_with("sites.php line 4:"), "{:?}", read.warnings);

        let reads = "<?php\n$sites['a.example'] = 'a';\nforeach ($sites as $k => $v) {}\nif (isset($sites['a.example'])) {}\nunset($sites['a.example']);\n$sites += ['b.example' => 'b'];\n";
        let read = parse_sites(reads).unwrap();
        assert_eq!(read.entries, pairs(&[("a.example", "a")]));
        let lines: Vec<&str> = read.warnings.iter().map(|w| w.split(':').next().unwrap()).collect();
        assert_eq!(lines, ["sites.php line 5", "sites.php line 6"], "{:?}", read.warnings);

        let mixed = parse_sites("<?php\n$sites = [\n  'a.example' => 'a',\n  PREFIX . 'b' => 'b',\n];").unwrap();
        assert_eq!(mixed.entries, pairs(&[("a.example", "a")]));
        assert!(mixed.warnings[0].starts_with("sites.php line 4:"), "{:?}", mixed.warnings);
    }

    #[test]
    fn a_file_without_sites_has_no_entries_and_no_warnings() {
        assert_eq!(
            parse_sites("<?php\n/** Drupal's example.sites.php, all comments. */\n").unwrap(),
            LiteralSites::default()
        );
        assert_eq!(parse_sites("").unwrap(), LiteralSites::default());
    }

    #[test]
    fn an_unclosed_string_is_an_error_naming_its_line() {
        let e = parse_sites("<?php\n\n$sites['a.example'] = 'a;\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.to_string(), "sites.php line 3: a string that is never closed");
    }
}
