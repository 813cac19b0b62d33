//! Which SQL the store may send: the constructs that some supported MySQL or MariaDB release
//! lacks, each with the first release of each family that has it, and a detector that finds them
//! in a statement's text.
//!
//! Only one server can be run where drupal-scim is developed (MariaDB 10.11), so the statements
//! it sends are held against this table instead: the API tests capture every statement the
//! server sends (tests/api/statements.rs) and fail on any construct [`STATEMENT_FLOOR`] lacks.
//! Start-up refuses a server below that floor too ([`crate::drupal::server`]).

use crate::drupal::version::{Floor, Version};

/// The oldest releases every statement must run on: Drupal 10's own minimums
/// (core/modules/mysql/src/Driver/Database/mysql/Install/Tasks.php), which Drupal 11's minimums
/// (MySQL 8.0, MariaDB 10.6) are above, and which drupal-scim also asks of Drupal 7 sites.
pub const STATEMENT_FLOOR: Floor = Floor { mysql: Version(5, 7, 8), mariadb: Version(10, 3, 7) };

/// A piece of SQL, as far as the detectors need to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare word, uppercased: a keyword, a function name or an unquoted identifier.
    Word(String),
    /// A `backquoted` identifier.
    Quoted,
    /// A string literal or a number.
    Value,
    /// Any other character: `(`, `,`, `?`, `=`, `@`…
    Punct(char),
}

/// Split a statement into tokens; comments are dropped.
pub fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' || (c == '-' && next == Some('-')) {
            while chars.get(i).is_some_and(|c| *c != '\n') {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars.get(i) == Some(&'*') && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' || c == '`' {
            // Quoted text ends at the unescaped, undoubled closing quote.
            i += 1;
            while let Some(&d) = chars.get(i) {
                // A backslash escapes the next character in a string; a doubled quote is one quote.
                let escaped = (d == '\\' && c != '`') || (d == c && chars.get(i + 1) == Some(&c));
                if escaped {
                    i += 2;
                } else if d == c {
                    break;
                } else {
                    i += 1;
                }
            }
            i += 1;
            out.push(if c == '`' { Token::Quoted } else { Token::Value });
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|d| d.is_alphanumeric() || *d == '_' || *d == '$' || (*d == '.' && c.is_ascii_digit()))
            {
                i += 1;
            }
            if c.is_ascii_digit() {
                out.push(Token::Value);
            } else {
                out.push(Token::Word(
                    chars.get(start..i).unwrap_or_default().iter().collect::<String>().to_uppercase(),
                ));
            }
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// A construct some supported release lacks.
pub struct Construct {
    /// What it is, as a reader of a failing test needs it named.
    pub name: &'static str,
    /// The first MySQL release that has it; None: not every MySQL from 5.7 on (missing, or
    /// removed or reserved in a later release).
    pub mysql: Option<Version>,
    /// The first MariaDB release that has it; None: not every MariaDB from 10.3 on.
    pub mariadb: Option<Version>,
    detect: fn(&[Token]) -> bool,
}

impl Construct {
    /// Whether every release from `floor` on has it.
    pub fn allowed_from(&self, floor: &Floor) -> bool {
        self.mysql.is_some_and(|v| v <= floor.mysql) && self.mariadb.is_some_and(|v| v <= floor.mariadb)
    }

    /// Where each family has it, for messages.
    pub fn availability(&self) -> String {
        let since = |v: Option<Version>| v.map_or("never".to_string(), |v| format!("since {v}"));
        format!("MySQL {}, MariaDB {}", since(self.mysql), since(self.mariadb))
    }
}

impl std::fmt::Debug for Construct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.availability())
    }
}

fn word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x == w)
}

fn punct(t: Option<&Token>, c: char) -> bool {
    t == Some(&Token::Punct(c))
}

/// A word anywhere.
fn has_word(ts: &[Token], w: &str) -> bool {
    ts.iter().any(|t| word(Some(t), w))
}

/// A function call `NAME(` anywhere.
fn calls(ts: &[Token], name: &str) -> bool {
    ts.windows(2).any(|p| word(p.first(), name) && punct(p.get(1), '('))
}

/// Consecutive words anywhere.
fn has_words(ts: &[Token], ws: &[&str]) -> bool {
    ts.windows(ws.len()).any(|p| p.iter().zip(ws).all(|(t, w)| word(Some(t), w)))
}

/// The statement starts with these words.
fn starts(ts: &[Token], ws: &[&str]) -> bool {
    ws.iter().enumerate().all(|(i, w)| word(ts.get(i), w))
}

fn window_function(ts: &[Token]) -> bool {
    ts.windows(2).any(|p| {
        word(p.first(), "OVER") && matches!(p.get(1), Some(Token::Punct('(') | Token::Word(_) | Token::Quoted))
    })
}

/// `WITH [RECURSIVE] name AS (` or `WITH name (columns…)`, at the start or after `(` or
/// `INSERT … ` (WITH ROLLUP, WITH CONSISTENT SNAPSHOT and WITH CHECK OPTION are not CTEs).
fn common_table_expression(ts: &[Token]) -> bool {
    ts.iter().enumerate().any(|(i, t)| {
        if !word(Some(t), "WITH") {
            return false;
        }
        let mut j = i + 1;
        if word(ts.get(j), "RECURSIVE") {
            return true;
        }
        if !matches!(ts.get(j), Some(Token::Word(_) | Token::Quoted)) {
            return false;
        }
        j += 1;
        (word(ts.get(j), "AS") && punct(ts.get(j + 1), '(')) || punct(ts.get(j), '(')
    })
}

/// `INSERT … VALUES (…), (…) AS alias`: MySQL 8.0.19's row alias, MariaDB has none.
fn insert_row_alias(ts: &[Token]) -> bool {
    if !(starts(ts, &["INSERT"]) || starts(ts, &["REPLACE"])) {
        return false;
    }
    let Some(values) = ts.iter().position(|t| word(Some(t), "VALUES") || word(Some(t), "VALUE")) else {
        return false;
    };
    let mut depth = 0usize;
    for t in ts.iter().skip(values + 1) {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 0 => return w == "AS",
            _ => {}
        }
    }
    false
}

/// `IF [NOT] EXISTS` in an `ALTER TABLE` (on a column, index or the table).
fn alter_if_exists(ts: &[Token]) -> bool {
    starts(ts, &["ALTER"]) && (has_words(ts, &["IF", "EXISTS"]) || has_words(ts, &["IF", "NOT", "EXISTS"]))
}

/// `CREATE [UNIQUE…] INDEX IF NOT EXISTS`, `DROP INDEX IF EXISTS`.
fn index_if_exists(ts: &[Token]) -> bool {
    let index = ts.iter().position(|t| word(Some(t), "INDEX"));
    let ddl = starts(ts, &["CREATE"]) || starts(ts, &["DROP", "INDEX"]);
    ddl && index.is_some_and(|i| {
        ts.iter().take(i).all(|t| matches!(t, Token::Word(w) if matches!(w.as_str(), "CREATE" | "DROP" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "OR" | "REPLACE")))
            && word(ts.get(i + 1), "IF")
    })
}

/// `CREATE OR REPLACE` anything but a view (MySQL has it for views only).
fn create_or_replace(ts: &[Token]) -> bool {
    starts(ts, &["CREATE", "OR", "REPLACE"])
        && !matches!(ts.get(3), Some(Token::Word(w)) if matches!(w.as_str(), "VIEW" | "ALGORITHM" | "DEFINER" | "SQL"))
}

fn sequence(ts: &[Token]) -> bool {
    has_word(ts, "SEQUENCE")
        || ["NEXTVAL", "LASTVAL", "SETVAL"].iter().any(|f| calls(ts, f))
        || has_words(ts, &["NEXT", "VALUE", "FOR"])
        || has_words(ts, &["PREVIOUS", "VALUE", "FOR"])
}

/// `DEFAULT (expression)` in a table definition (`DEFAULT(col)` in a DML statement is a function
/// every release has).
fn default_expression(ts: &[Token]) -> bool {
    (starts(ts, &["CREATE"]) || starts(ts, &["ALTER"]))
        && ts.windows(2).any(|p| word(p.first(), "DEFAULT") && punct(p.get(1), '('))
}

/// `VALUES (…)` used as a table (MariaDB's syntax; MySQL's needs `VALUES ROW(…)`).
fn table_value_constructor(ts: &[Token]) -> bool {
    starts(ts, &["VALUES"]) || ts.windows(2).any(|p| punct(p.first(), '(') && word(p.get(1), "VALUES"))
}

/// Words MySQL 8.0 reserved that 5.7 did not: used bare as a name, they break on 8.0.
const MYSQL8_RESERVED: &[&str] = &[
    "CUBE",
    "CUME_DIST",
    "DENSE_RANK",
    "EMPTY",
    "EXCEPT",
    "FIRST_VALUE",
    "GROUPING",
    "GROUPS",
    "JSON_TABLE",
    "LAG",
    "LAST_VALUE",
    "LATERAL",
    "LEAD",
    "NTH_VALUE",
    "NTILE",
    "OF",
    "OVER",
    "PERCENT_RANK",
    "RANK",
    "RECURSIVE",
    "ROW_NUMBER",
    "SYSTEM",
    "WINDOW",
];

fn mysql8_reserved_word(ts: &[Token]) -> bool {
    ts.iter().enumerate().any(|(i, t)| {
        // A function call (`RANK(`) is the window-function construct, not a bare name.
        matches!(t, Token::Word(w) if MYSQL8_RESERVED.contains(&w.as_str())) && !punct(ts.get(i + 1), '(')
            // A variable (`@x`) is not a name, and a name after `.` (`t.rank`) may be reserved.
            && !(i > 0 && (punct(ts.get(i - 1), '@') || punct(ts.get(i - 1), '.')))
    })
}

const fn v(major: u16, minor: u16, patch: u16) -> Option<Version> {
    Some(Version(major, minor, patch))
}

/// Every construct the detectors know, with where each family has it (from the MySQL Reference
/// Manual's "added in" notes and MariaDB's release notes).
pub const CONSTRUCTS: &[Construct] = &[
    Construct {
        name: "window function (… OVER (…))",
        mysql: v(8, 0, 2),
        mariadb: v(10, 2, 0),
        detect: window_function,
    },
    Construct {
        name: "common table expression (WITH … AS (…))",
        mysql: v(8, 0, 1),
        mariadb: v(10, 2, 1),
        detect: common_table_expression,
    },
    Construct { name: "RETURNING", mysql: None, mariadb: v(10, 5, 0), detect: |ts| has_word(ts, "RETURNING") },
    Construct { name: "JSON_TABLE()", mysql: v(8, 0, 4), mariadb: v(10, 6, 0), detect: |ts| calls(ts, "JSON_TABLE") },
    Construct {
        name: "LATERAL derived table",
        mysql: v(8, 0, 14),
        mariadb: None,
        detect: |ts| has_word(ts, "LATERAL"),
    },
    Construct {
        name: "row alias (INSERT … VALUES (…) AS alias)",
        mysql: v(8, 0, 19),
        mariadb: None,
        detect: insert_row_alias,
    },
    Construct {
        name: "INTERSECT / EXCEPT",
        mysql: v(8, 0, 31),
        mariadb: v(10, 3, 0),
        detect: |ts| has_word(ts, "INTERSECT") || has_word(ts, "EXCEPT"),
    },
    Construct {
        name: "RELEASE_ALL_LOCKS()",
        mysql: v(5, 7, 5),
        mariadb: v(10, 5, 2),
        detect: |ts| calls(ts, "RELEASE_ALL_LOCKS"),
    },
    // Before these releases a second GET_LOCK released the connection's first lock.
    Construct {
        name: "several named locks held by one connection (GET_LOCK … GET_LOCK)",
        mysql: v(5, 7, 5),
        mariadb: v(10, 0, 2),
        detect: |ts| ts.windows(2).filter(|p| word(p.first(), "GET_LOCK") && punct(p.get(1), '(')).count() > 1,
    },
    Construct {
        name: "sequence (CREATE SEQUENCE, NEXTVAL(), NEXT VALUE FOR)",
        mysql: None,
        mariadb: v(10, 3, 0),
        detect: sequence,
    },
    Construct { name: "IF [NOT] EXISTS in ALTER TABLE", mysql: None, mariadb: v(10, 5, 2), detect: alter_if_exists },
    Construct {
        name: "CREATE INDEX IF NOT EXISTS / DROP INDEX IF EXISTS",
        mysql: None,
        mariadb: v(10, 1, 4),
        detect: index_if_exists,
    },
    Construct {
        name: "CREATE OR REPLACE (other than a view)",
        mysql: None,
        mariadb: v(10, 1, 4),
        detect: create_or_replace,
    },
    Construct {
        name: "SKIP LOCKED",
        mysql: v(8, 0, 1),
        mariadb: v(10, 6, 0),
        detect: |ts| has_words(ts, &["SKIP", "LOCKED"]),
    },
    Construct { name: "NOWAIT", mysql: v(8, 0, 1), mariadb: v(10, 3, 0), detect: |ts| has_word(ts, "NOWAIT") },
    Construct {
        name: "WAIT n (lock timeout clause)",
        mysql: None,
        mariadb: v(10, 3, 0),
        detect: |ts| {
            ts.windows(2).any(|p| word(p.first(), "WAIT") && matches!(p.get(1), Some(Token::Value | Token::Punct('?'))))
        },
    },
    Construct { name: "FOR SHARE", mysql: v(8, 0, 1), mariadb: None, detect: |ts| has_words(ts, &["FOR", "SHARE"]) },
    Construct {
        name: "OFFSET … FETCH FIRST/NEXT",
        mysql: None,
        mariadb: v(10, 6, 0),
        detect: |ts| has_words(ts, &["FETCH", "FIRST"]) || has_words(ts, &["FETCH", "NEXT"]),
    },
    Construct {
        name: "SET STATEMENT … FOR",
        mysql: None,
        mariadb: v(10, 1, 2),
        detect: |ts| starts(ts, &["SET", "STATEMENT"]),
    },
    Construct {
        name: "REGEXP_REPLACE() / REGEXP_SUBSTR() / REGEXP_INSTR()",
        mysql: v(8, 0, 4),
        mariadb: v(10, 0, 5),
        detect: |ts| ["REGEXP_REPLACE", "REGEXP_SUBSTR", "REGEXP_INSTR"].iter().any(|f| calls(ts, f)),
    },
    Construct { name: "REGEXP_LIKE()", mysql: v(8, 0, 4), mariadb: None, detect: |ts| calls(ts, "REGEXP_LIKE") },
    Construct {
        name: "JSON_ARRAYAGG() / JSON_OBJECTAGG()",
        mysql: v(5, 7, 22),
        mariadb: v(10, 5, 0),
        detect: |ts| calls(ts, "JSON_ARRAYAGG") || calls(ts, "JSON_OBJECTAGG"),
    },
    Construct { name: "JSON_VALUE()", mysql: v(8, 0, 21), mariadb: v(10, 2, 3), detect: |ts| calls(ts, "JSON_VALUE") },
    Construct {
        name: "JSON_QUERY() / JSON_EXISTS()",
        mysql: None,
        mariadb: v(10, 2, 3),
        detect: |ts| calls(ts, "JSON_QUERY") || calls(ts, "JSON_EXISTS"),
    },
    Construct { name: "ANY_VALUE()", mysql: v(5, 7, 5), mariadb: None, detect: |ts| calls(ts, "ANY_VALUE") },
    Construct {
        name: "UUID_TO_BIN() / BIN_TO_UUID() / IS_UUID()",
        mysql: v(8, 0, 0),
        mariadb: None,
        detect: |ts| ["UUID_TO_BIN", "BIN_TO_UUID", "IS_UUID"].iter().any(|f| calls(ts, f)),
    },
    Construct {
        name: "RANDOM_BYTES()",
        mysql: v(5, 6, 17),
        mariadb: v(10, 10, 0),
        detect: |ts| calls(ts, "RANDOM_BYTES"),
    },
    Construct {
        name: "PASSWORD() / ENCRYPT() (removed in MySQL 8.0)",
        mysql: None,
        mariadb: v(5, 1, 0),
        detect: |ts| calls(ts, "PASSWORD") || calls(ts, "ENCRYPT"),
    },
    Construct {
        name: "@@tx_isolation / @@tx_read_only (removed in MySQL 8.0)",
        mysql: None,
        mariadb: v(5, 1, 0),
        detect: |ts| has_word(ts, "TX_ISOLATION") || has_word(ts, "TX_READ_ONLY"),
    },
    Construct {
        name: "@@transaction_isolation",
        mysql: v(5, 7, 20),
        mariadb: v(11, 1, 1),
        detect: |ts| has_word(ts, "TRANSACTION_ISOLATION"),
    },
    Construct {
        name: "DEFAULT (expression) in a table definition",
        mysql: v(8, 0, 13),
        mariadb: v(10, 2, 1),
        detect: default_expression,
    },
    Construct {
        name: "RENAME COLUMN",
        mysql: v(8, 0, 0),
        mariadb: v(10, 5, 2),
        detect: |ts| starts(ts, &["ALTER"]) && has_words(ts, &["RENAME", "COLUMN"]),
    },
    Construct {
        name: "RENAME INDEX / RENAME KEY",
        mysql: v(5, 7, 0),
        mariadb: v(10, 5, 2),
        detect: |ts| {
            starts(ts, &["ALTER"]) && (has_words(ts, &["RENAME", "INDEX"]) || has_words(ts, &["RENAME", "KEY"]))
        },
    },
    Construct { name: "VALUES (…) as a table", mysql: None, mariadb: v(10, 3, 3), detect: table_value_constructor },
    Construct {
        name: "utf8mb4_0900_* collation",
        mysql: v(8, 0, 1),
        mariadb: None,
        detect: |ts| {
            ts.iter().any(|t| matches!(t, Token::Word(w) if w.starts_with("UTF8MB4_") && w.contains("_0900_")))
        },
    },
    Construct {
        name: "uca1400 collation",
        mysql: None,
        mariadb: v(10, 10, 1),
        detect: |ts| ts.iter().any(|t| matches!(t, Token::Word(w) if w.contains("UCA1400"))),
    },
    Construct {
        name: "a word MySQL 8.0 reserves (GROUPS, RANK, SYSTEM, …) used bare as a name: quote it",
        mysql: None,
        mariadb: v(5, 1, 0),
        detect: mysql8_reserved_word,
    },
];

/// The constructs in `sql` that some release from `floor` on lacks.
pub fn unsupported(sql: &str, floor: &Floor) -> Vec<&'static Construct> {
    let ts = tokens(sql);
    CONSTRUCTS.iter().filter(|c| (c.detect)(&ts) && !c.allowed_from(floor)).collect()
}

/// Every construct in `sql`, allowed or not.
pub fn constructs_in(sql: &str) -> Vec<&'static Construct> {
    let ts = tokens(sql);
    CONSTRUCTS.iter().filter(|c| (c.detect)(&ts)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<&'static str> {
        unsupported(sql, &STATEMENT_FLOOR).iter().map(|c| c.name).collect()
    }

    fn refused(sql: &str, name_part: &str) {
        let found = names(sql);
        assert!(found.iter().any(|n| n.contains(name_part)), "{sql:?} should be refused for {name_part:?}: {found:?}");
    }

    fn accepted(sql: &str) {
        assert_eq!(names(sql), Vec::<&str>::new(), "{sql:?}");
    }

    #[test]
    fn tokens_skip_literals_quoted_names_and_comments() {
        assert_eq!(
            tokens("SELECT `over`, 'RETURNING x', \"WITH a AS (\" /* OVER ( */ -- LATERAL\n FROM t # EXCEPT"),
            vec![
                Token::Word("SELECT".into()),
                Token::Quoted,
                Token::Punct(','),
                Token::Value,
                Token::Punct(','),
                Token::Value,
                Token::Word("FROM".into()),
                Token::Word("T".into()),
            ]
        );
        assert_eq!(tokens(r"'it''s \' OVER (' 12.5e3"), vec![Token::Value, Token::Value]);
        assert_eq!(tokens("`a``b` x"), vec![Token::Quoted, Token::Word("X".into())]);
    }

    #[test]
    fn what_the_floor_lacks_is_refused() {
        refused(
            "UPDATE t r JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) AS n FROM t) x ON 1 SET r.d = x.n",
            "window function",
        );
        refused("SELECT a, RANK() OVER w FROM t WINDOW w AS (ORDER BY a)", "window function");
        refused("WITH x AS (SELECT 1) SELECT * FROM x", "common table expression");
        refused(
            "WITH RECURSIVE x (n) AS (SELECT 1 UNION SELECT n + 1 FROM x) SELECT n FROM x",
            "common table expression",
        );
        refused("SELECT * FROM (WITH x (a) AS (SELECT 1) SELECT a FROM x) y", "common table expression");
        refused("INSERT INTO t (a) VALUES (?) RETURNING id", "RETURNING");
        refused("DELETE FROM t WHERE a = 1 RETURNING a", "RETURNING");
        refused("SELECT * FROM JSON_TABLE(?, '$[*]' COLUMNS (a INT PATH '$')) j", "JSON_TABLE");
        refused("SELECT * FROM t, LATERAL (SELECT 1) x", "LATERAL");
        refused("INSERT INTO t (a, b) VALUES (?, ?), (?, ?) AS new ON DUPLICATE KEY UPDATE b = new.b", "row alias");
        refused("SELECT a FROM t INTERSECT SELECT a FROM u", "INTERSECT");
        refused("SELECT a FROM t EXCEPT SELECT a FROM u", "EXCEPT");
        refused("SELECT RELEASE_ALL_LOCKS()", "RELEASE_ALL_LOCKS");
        refused("CREATE SEQUENCE s START WITH 1", "sequence");
        refused("SELECT NEXTVAL(s)", "sequence");
        refused("INSERT INTO t (id) VALUES (NEXT VALUE FOR s)", "sequence");
        refused("ALTER TABLE `t` ADD COLUMN IF NOT EXISTS `c` int", "ALTER TABLE");
        refused("ALTER TABLE t DROP INDEX IF EXISTS k", "ALTER TABLE");
        refused("CREATE INDEX IF NOT EXISTS k ON t (a)", "CREATE INDEX IF NOT EXISTS");
        refused("CREATE UNIQUE INDEX IF NOT EXISTS k ON t (a)", "CREATE INDEX IF NOT EXISTS");
        refused("CREATE OR REPLACE TABLE t (a int)", "CREATE OR REPLACE");
        refused("SELECT a FROM t FOR UPDATE SKIP LOCKED", "SKIP LOCKED");
        refused("SELECT a FROM t FOR UPDATE NOWAIT", "NOWAIT");
        refused("SELECT a FROM t FOR UPDATE WAIT 5", "WAIT n");
        refused("SELECT a FROM t FOR SHARE", "FOR SHARE");
        refused("SELECT a FROM t ORDER BY a OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY", "FETCH");
        refused("SET STATEMENT max_statement_time = 1 FOR SELECT 1", "SET STATEMENT");
        refused("SELECT REGEXP_REPLACE(a, 'x', 'y') FROM t", "REGEXP_REPLACE");
        refused("SELECT JSON_ARRAYAGG(a) FROM t", "JSON_ARRAYAGG");
        refused("SELECT JSON_VALUE(a, '$.x') FROM t", "JSON_VALUE");
        refused("SELECT ANY_VALUE(a) FROM t", "ANY_VALUE");
        refused("SELECT UUID_TO_BIN(?)", "UUID_TO_BIN");
        refused("SELECT RANDOM_BYTES(16)", "RANDOM_BYTES");
        refused("SELECT @@tx_isolation", "tx_isolation");
        refused("SELECT @@transaction_isolation", "transaction_isolation");
        refused("CREATE TABLE t (a varchar(36) DEFAULT (UUID()))", "DEFAULT (expression)");
        refused("ALTER TABLE t RENAME COLUMN a TO b", "RENAME COLUMN");
        refused("SELECT * FROM (VALUES (1), (2)) v", "VALUES (…) as a table");
        refused("CREATE TABLE t (a text) COLLATE utf8mb4_0900_ai_ci", "0900");
        refused("CREATE TABLE t (a text) COLLATE utf8mb4_uca1400_ai_ci", "uca1400");
        refused("SELECT groups FROM t", "MySQL 8.0 reserves");
        refused("SELECT a AS rank FROM t", "MySQL 8.0 reserves");
    }

    #[test]
    fn what_the_floor_has_is_accepted() {
        accepted(
            "SELECT GET_LOCK(CONCAT('drupal_scim:', LEFT(SHA2(CONCAT_WS('|', CONVERT(DATABASE() USING utf8mb4), ?, ?), 256), 40)), ?), GET_LOCK(?, ?)",
        );
        accepted("SELECT RELEASE_LOCK(?), RELEASE_LOCK(?)");
        accepted(
            "CREATE TABLE IF NOT EXISTS `t` (`a` int(10) unsigned NOT NULL, `b` varchar(36) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL, PRIMARY KEY (`a`), KEY `b` (`b`(191))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='x'",
        );
        accepted("DROP TABLE IF EXISTS `t`");
        accepted("ALTER TABLE `t` ADD COLUMN `c` varchar(36) DEFAULT NULL AFTER `a`, ADD UNIQUE KEY `c` (`c`)");
        accepted("INSERT INTO `t` (`a`) VALUES (?), (?) ON DUPLICATE KEY UPDATE `a` = VALUES(`a`)");
        accepted("INSERT INTO `sequences` () VALUES ()");
        accepted(
            "UPDATE `t` r JOIN (SELECT a.`id`, COUNT(b.`id`) AS `n` FROM `t` a LEFT JOIN `t` b ON b.`id` < a.`id` GROUP BY a.`id`) x ON r.`id` = x.`id` SET r.`d` = x.`n`",
        );
        accepted("SELECT a FROM t GROUP BY a WITH ROLLUP");
        accepted("START TRANSACTION WITH CONSISTENT SNAPSHOT");
        accepted("SELECT `uid` FROM `users_field_data` WHERE `uid` IN (?, ?) ORDER BY `uid` FOR UPDATE");
        accepted("SELECT a FROM t LOCK IN SHARE MODE");
        accepted("SELECT @@max_allowed_packet, @@wait_timeout, @@socket");
        accepted("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'");
        accepted("SELECT 'OVER (', `rank`, `groups`.`system` FROM `groups`");
        accepted("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
        accepted("SELECT a FROM t UNION SELECT a FROM u");
        accepted("SELECT JSON_EXTRACT(a, '$.x') FROM t");
        accepted("SELECT x.rank, @rank FROM t x");
    }

    #[test]
    fn a_construct_is_allowed_when_every_release_from_the_floor_has_it() {
        let window = CONSTRUCTS.iter().find(|c| c.name.starts_with("window")).unwrap();
        assert!(!window.allowed_from(&STATEMENT_FLOOR), "MySQL 5.7 has no window functions");
        assert!(window.allowed_from(&Floor { mysql: Version(8, 0, 2), mariadb: Version(10, 3, 7) }));
        let release_all = CONSTRUCTS.iter().find(|c| c.name.starts_with("RELEASE_ALL")).unwrap();
        assert!(!release_all.allowed_from(&Floor { mysql: Version(8, 0, 0), mariadb: Version(10, 5, 1) }));
        assert!(release_all.allowed_from(&Floor { mysql: Version(8, 0, 0), mariadb: Version(10, 5, 2) }));
        let returning = CONSTRUCTS.iter().find(|c| c.name == "RETURNING").unwrap();
        assert!(!returning.allowed_from(&Floor { mysql: Version(99, 0, 0), mariadb: Version(99, 0, 0) }));
        assert_eq!(returning.availability(), "MySQL never, MariaDB since 10.5.0");
    }
}
