//! The validated mapping: what drupal_mapping.toml means once parsed. Built by [`Mapping::parse`];
//! the live-database half of the validation is in `mapping::check`.

use crate::drupal::model::BaseColumn;
use crate::drupal::tables::Tables;
use crate::mapping::file::{AttributeEntry, MappingFile};
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::{AttrPath, parse_path};
use crate::scim::schema::{AttrType, Mutability, USER_RESOURCE};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// A mapping error, with the line of drupal_mapping.toml it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "drupal_mapping.toml line {line}: {}", self.message),
            None => write!(f, "drupal_mapping.toml: {}", self.message),
        }
    }
}

impl std::error::Error for MappingError {}

/// Where a SCIM attribute is kept in Drupal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A single-value column of users_field_data.
    Column(BaseColumn),
    /// A configurable user field (`user__<field>`, column `<field>_value`).
    Field(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Column(c) => write!(f, "users_field_data.{}", c.column()),
            Target::Field(name) => write!(f, "user__{name}.{name}_value"),
        }
    }
}

/// A value transform applied to incoming values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    None,
    Lowercase,
    Trim,
}

/// One SCIM attribute ↔ Drupal target pair.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeMap {
    pub scim: AttrPath,
    /// The path as written in the file, for messages.
    pub scim_text: String,
    pub target: Target,
    pub transform: Transform,
    /// True for SCIM booleans (`active`), stored as 0/1.
    pub boolean: bool,
    /// Canonical names from the SCIM schema: the schema URN, the attribute, the sub-attribute.
    pub schema_urn: &'static str,
    pub attr_name: &'static str,
    pub sub_name: Option<&'static str>,
    /// True when the SCIM attribute is multi-valued (`emails`), so the value lives in an element.
    pub multi_valued: bool,
    /// Line in drupal_mapping.toml.
    pub line: usize,
    /// Longest value the column takes, filled in from the live schema.
    pub max_len: Option<usize>,
}

impl AttributeMap {
    /// The equality terms of this map's value filter (`type eq "work"` → [("type","work")]).
    pub fn filter_terms(&self) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::new();
        if let Some(filter) = &self.scim.filter {
            collect_eq_terms(filter, &mut out);
        }
        out
    }
}

fn collect_eq_terms(filter: &Filter, out: &mut Vec<(String, serde_json::Value)>) {
    match filter {
        Filter::And(a, b) => {
            collect_eq_terms(a, out);
            collect_eq_terms(b, out);
        }
        Filter::Compare { path, op: CompareOp::Eq, value } => out.push((path.attr.clone(), value.clone())),
        _ => {}
    }
}

/// What deactivation or DELETE does to the Drupal account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deprovision {
    /// status = 0, sessions ended; content and account kept.
    Block,
    /// As Block, and the roles granted through SCIM groups are removed.
    BlockRemoveRoles,
    /// Delete the account when it owns no content; otherwise block it (and say so).
    DeleteIfNoContent,
}

/// What a create does with an existing, not yet linked Drupal account of the same name or mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkExisting {
    Refuse,
    Link,
}

/// Which password hash the site accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordHash {
    Auto,
    Bcrypt,
    Phpass,
}

/// What an unmapped SCIM group does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmappedGroups {
    CreateRole,
    Refuse,
    Ignore,
}

/// An explicit group → role mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMap {
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub role: String,
    pub line: usize,
}

/// The `[users]` part.
#[derive(Debug, Clone, PartialEq)]
pub struct UserMapping {
    pub attributes: Vec<AttributeMap>,
    pub protected_uids: Vec<u32>,
    pub deactivate: Deprovision,
    pub delete: Deprovision,
    pub link_existing: LinkExisting,
}

/// The `[groups]` part.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMapping {
    pub unmapped: UnmappedGroups,
    pub protected_roles: Vec<String>,
    pub delete_created_roles: bool,
    pub maps: Vec<GroupMap>,
}

/// `[drupal] core`: detect the schema, or insist on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorePin {
    Auto,
    /// Drupal 7: `users`, `role`, `users_roles`, `variable`.
    Drupal7,
    /// Drupal 8.x–11.x: `users_field_data`, `user__roles`, `config`.
    Drupal8Plus,
}

/// The whole validated mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Which Drupal schema the mapping expects (`[drupal] core`).
    pub core: CorePin,
    /// Drupal's table prefix (the default one when `table_prefixes` names some tables).
    pub table_prefix: String,
    /// Tables with a prefix of their own (table → prefix), from `[drupal.table_prefixes]`.
    pub table_prefixes: BTreeMap<String, String>,
    pub langcode: Option<String>,
    pub timezone: Option<String>,
    pub password_hash: PasswordHash,
    pub bcrypt_cost: u32,
    pub users: UserMapping,
    pub groups: GroupMapping,
    /// The site this mapping serves when a server serves several (empty otherwise): it seeds
    /// resource versions, so that one site's ETags mean nothing on another (two sites cloned
    /// from one database hold the same accounts).
    pub realm: String,
}

/// Turns byte offsets into 1-based line numbers.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn of<T>(&self, spanned: &Spanned<T>) -> usize {
        let end = spanned.span().start.min(self.0.len());
        self.0.get(..end).map(|s| s.matches('\n').count() + 1).unwrap_or(1)
    }
    fn err<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> MappingError {
        MappingError { line: Some(self.of(spanned)), message: message.into() }
    }
}

fn one_of<T: Copy>(
    lines: &Lines<'_>,
    value: &Option<Spanned<String>>,
    default: T,
    choices: &[(&str, T)],
    what: &str,
) -> Result<T, MappingError> {
    let Some(value) = value else { return Ok(default) };
    choices.iter().find(|(name, _)| *name == value.get_ref()).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        lines.err(value, format!("{what} must be one of {}, not {:?}", names.join(", "), value.get_ref()))
    })
}

impl Mapping {
    /// Parse and validate the file's text (everything that can be checked without a database).
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let lines = Lines(text);
        let file: MappingFile = toml::from_str(text).map_err(|e| MappingError {
            line: e.span().map(|s| text.get(..s.start).map(|t| t.matches('\n').count() + 1).unwrap_or(1)),
            message: e.message().to_string(),
        })?;
        if *file.version.get_ref() != 1 {
            return Err(lines.err(&file.version, "only `version = 1` is understood by this drupal-scim"));
        }
        let d = &file.drupal;
        let core = match &d.core {
            None => CorePin::Auto,
            Some(c) => match c.get_ref().as_str() {
                "auto" => CorePin::Auto,
                "7" => CorePin::Drupal7,
                "8" | "9" | "10" | "11" => CorePin::Drupal8Plus,
                _ => {
                    return Err(lines.err(c, "core must be \"auto\", \"7\" (Drupal 7) or \"10\" (Drupal 8.x–11.x)"));
                }
            },
        };
        let password_hash = one_of(
            &lines,
            &d.password_hash,
            PasswordHash::Auto,
            &[("auto", PasswordHash::Auto), ("bcrypt", PasswordHash::Bcrypt), ("phpass", PasswordHash::Phpass)],
            "password_hash",
        )?;
        let bcrypt_cost = match &d.bcrypt_cost {
            Some(c) if !(4..=31).contains(c.get_ref()) => return Err(lines.err(c, "bcrypt_cost must be 4..=31")),
            Some(c) => *c.get_ref(),
            None => 10,
        };
        let (table_prefix, table_prefixes) = parse_prefixes(&lines, d)?;
        let users = parse_users(&lines, &file)?;
        let groups = parse_groups(&lines, &file)?;
        Ok(Mapping {
            core,
            table_prefix,
            table_prefixes,
            langcode: d.langcode.as_ref().map(|l| l.get_ref().clone()),
            timezone: d.timezone.as_ref().map(|t| t.get_ref().clone()),
            password_hash,
            bcrypt_cost,
            users,
            groups,
            realm: String::new(),
        })
    }

    /// Read and parse a mapping file.
    pub fn load(path: &std::path::Path) -> Result<Mapping, MappingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MappingError { line: None, message: format!("cannot read {}: {e}", path.display()) })?;
        Mapping::parse(&text)
    }

    /// Apply the prefixes the settings give (from the settings file, the environment or Drupal's
    /// settings.php), which win over the file's: a `table_prefix` replaces the default prefix, a
    /// `table_prefixes` map replaces the whole `[drupal.table_prefixes]` (settings.php describes
    /// every table, so its map is not merged with the mapping's).
    pub fn override_prefixes(&mut self, table_prefix: Option<&str>, table_prefixes: Option<&BTreeMap<String, String>>) {
        if let Some(prefix) = table_prefix {
            self.table_prefix = prefix.to_string();
        }
        if let Some(per_table) = table_prefixes {
            self.table_prefixes = per_table.clone();
        }
    }

    /// The attribute map for a base column, if mapped.
    pub fn column_map(&self, column: BaseColumn) -> Option<&AttributeMap> {
        self.users.attributes.iter().find(|a| a.target == Target::Column(column))
    }

    /// Names of the mapped configurable fields.
    pub fn field_names(&self) -> Vec<String> {
        self.users
            .attributes
            .iter()
            .filter_map(|a| match &a.target {
                Target::Field(f) => Some(f.clone()),
                Target::Column(_) => None,
            })
            .collect()
    }
}

/// `table_prefix` and `[drupal.table_prefixes]`, each checked as the store will (so a bad one is
/// reported with its line rather than at the first connection).
fn parse_prefixes(
    lines: &Lines<'_>,
    d: &crate::mapping::file::DrupalSection,
) -> Result<(String, BTreeMap<String, String>), MappingError> {
    let table_prefix = match &d.table_prefix {
        Some(p) => {
            Tables::new(p.get_ref()).map_err(|e| lines.err(p, format!("table_prefix: {}", reason(e))))?;
            p.get_ref().clone()
        }
        None => String::new(),
    };
    let mut table_prefixes = BTreeMap::new();
    for (table, prefix) in &d.table_prefixes {
        if table == "default" {
            return Err(lines.err(
                prefix,
                "[drupal.table_prefixes] cannot set `default`: the default prefix is `table_prefix` in [drupal]",
            ));
        }
        let one = BTreeMap::from([(table.clone(), prefix.get_ref().clone())]);
        Tables::with_overrides("", &one)
            .map_err(|e| lines.err(prefix, format!("[drupal.table_prefixes]: {}", reason(e))))?;
        table_prefixes.insert(table.clone(), prefix.get_ref().clone());
    }
    Ok((table_prefix, table_prefixes))
}

/// The message of a validation error, without the store's "invalid value" label.
fn reason(e: crate::drupal::error::StoreError) -> String {
    match e {
        crate::drupal::error::StoreError::Invalid(message) => message,
        other => other.to_string(),
    }
}

fn parse_users(lines: &Lines<'_>, file: &MappingFile) -> Result<UserMapping, MappingError> {
    let u = &file.users;
    let mut attributes: Vec<AttributeMap> = Vec::new();
    for entry in &u.attributes {
        let map = parse_attribute(lines, entry)?;
        if let Some(dup) = attributes.iter().find(|a| a.scim == map.scim) {
            return Err(lines.err(&entry.scim, format!("{} is already mapped on line {}", map.scim_text, dup.line)));
        }
        if let Some(dup) = attributes.iter().find(|a| a.target == map.target) {
            return Err(lines.err(&entry.drupal, format!("{} is already the target of line {}", map.target, dup.line)));
        }
        attributes.push(map);
    }
    if !attributes.iter().any(|a| a.target == Target::Column(BaseColumn::Name) && a.scim.is("userName")) {
        return Err(MappingError {
            line: None,
            message: "[[users.attribute]] must map scim = \"userName\" to drupal = \"name\"".into(),
        });
    }
    let mut protected_uids = u.protected_uids.as_ref().map(|p| p.get_ref().clone()).unwrap_or_else(|| vec![0, 1]);
    // Anonymous (0) and the super user (1) are never SCIM's, whatever the file says.
    for uid in [0, 1] {
        if !protected_uids.contains(&uid) {
            protected_uids.push(uid);
        }
    }
    protected_uids.sort_unstable();
    let blocks = [("block", Deprovision::Block), ("block_remove_roles", Deprovision::BlockRemoveRoles)];
    let deletes = [
        ("block", Deprovision::Block),
        ("block_remove_roles", Deprovision::BlockRemoveRoles),
        ("delete_if_no_content", Deprovision::DeleteIfNoContent),
    ];
    Ok(UserMapping {
        attributes,
        protected_uids,
        // Deleting on deactivation would make Entra's re-enable impossible, so it is not offered.
        deactivate: one_of(lines, &u.deactivate, Deprovision::Block, &blocks, "users.deactivate")?,
        delete: one_of(lines, &u.delete, Deprovision::Block, &deletes, "users.delete")?,
        link_existing: one_of(
            lines,
            &u.link_existing,
            LinkExisting::Refuse,
            &[("refuse", LinkExisting::Refuse), ("link", LinkExisting::Link)],
            "users.link_existing",
        )?,
    })
}

fn parse_attribute(lines: &Lines<'_>, entry: &AttributeEntry) -> Result<AttributeMap, MappingError> {
    let text = entry.scim.get_ref();
    let path = parse_path(text).map_err(|e| lines.err(&entry.scim, format!("scim = {text:?}: {}", e.detail)))?;
    let resolved = USER_RESOURCE
        .resolve(&path)
        .ok_or_else(|| lines.err(&entry.scim, format!("scim = {text:?} is not an attribute of the User schema")))?;
    let leaf = resolved.sub.unwrap_or(resolved.attr);
    if leaf.attr_type == AttrType::Complex {
        return Err(lines.err(&entry.scim, format!("scim = {text:?} is complex; map one of its sub-attributes")));
    }
    if resolved.attr.mutability == Mutability::ReadOnly || resolved.attr.name == "externalId" {
        return Err(
            lines.err(&entry.scim, format!("scim = {text:?} is kept by drupal-scim itself and cannot be mapped"))
        );
    }
    if resolved.attr.multi_valued && resolved.sub.is_none() {
        return Err(lines.err(
            &entry.scim,
            format!("scim = {text:?} is multi-valued; map e.g. {}[type eq \"work\"].value", resolved.attr.name),
        ));
    }
    let drupal = entry.drupal.get_ref();
    let target = if let Some(column) = BaseColumn::from_column(drupal) {
        Target::Column(column)
    } else if is_field_name(drupal) {
        Target::Field(drupal.clone())
    } else {
        return Err(lines.err(
            &entry.drupal,
            format!("drupal = {drupal:?} is neither a user column (name, mail, status, timezone, preferred_langcode, preferred_admin_langcode, pass) nor a field name (field_…, at most 32 characters of a-z, 0-9, _)"),
        ));
    };
    let boolean = leaf.attr_type == AttrType::Boolean;
    match (&target, boolean) {
        (Target::Column(BaseColumn::Status), false) => {
            return Err(lines.err(&entry.drupal, "status holds a boolean; map it from scim = \"active\""));
        }
        (t, true) if *t != Target::Column(BaseColumn::Status) => {
            return Err(lines.err(&entry.scim, format!("{text} is a boolean; only drupal = \"status\" can hold it")));
        }
        _ => {}
    }
    let is_password = resolved.attr.name == "password";
    if is_password != (target == Target::Column(BaseColumn::Pass)) {
        return Err(lines.err(&entry.drupal, "scim = \"password\" and drupal = \"pass\" go together and only together"));
    }
    let transform = one_of(
        lines,
        &entry.transform,
        Transform::None,
        &[("lowercase", Transform::Lowercase), ("trim", Transform::Trim)],
        "transform",
    )?;
    Ok(AttributeMap {
        scim: path,
        scim_text: text.clone(),
        target,
        transform,
        boolean,
        schema_urn: resolved.schema,
        attr_name: resolved.attr.name,
        sub_name: resolved.sub.map(|s| s.name),
        multi_valued: resolved.attr.multi_valued,
        line: lines.of(&entry.scim),
        max_len: None,
    })
}

/// Drupal field machine names: `field_` then a-z, 0-9, _ ; at most 32 characters.
pub fn is_field_name(name: &str) -> bool {
    name.len() <= 32
        && name.len() > "field_".len()
        && name.starts_with("field_")
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn parse_groups(lines: &Lines<'_>, file: &MappingFile) -> Result<GroupMapping, MappingError> {
    let g = &file.groups;
    let unmapped = one_of(
        lines,
        &g.unmapped,
        UnmappedGroups::CreateRole,
        &[
            ("create_role", UnmappedGroups::CreateRole),
            ("refuse", UnmappedGroups::Refuse),
            ("ignore", UnmappedGroups::Ignore),
        ],
        "groups.unmapped",
    )?;
    let protected_roles =
        g.protected_roles.as_ref().map(|p| p.get_ref().clone()).unwrap_or_else(|| vec!["administrator".to_string()]);
    let mut maps = Vec::new();
    for m in &g.maps {
        if m.display_name.is_none() && m.external_id.is_none() {
            return Err(lines.err(&m.role, "[[groups.map]] needs display_name or external_id"));
        }
        let role = m.role.get_ref();
        if protected_roles.contains(role) {
            return Err(lines.err(&m.role, format!("role {role:?} is protected and cannot be mapped to a group")));
        }
        if matches!(role.as_str(), "anonymous" | "authenticated") {
            return Err(lines.err(&m.role, format!("role {role:?} is built in; every account has it implicitly")));
        }
        maps.push(GroupMap {
            display_name: m.display_name.as_ref().map(|s| s.get_ref().clone()),
            external_id: m.external_id.as_ref().map(|s| s.get_ref().clone()),
            role: role.clone(),
            line: lines.of(&m.role),
        });
    }
    Ok(GroupMapping {
        unmapped,
        protected_roles,
        delete_created_roles: g.delete_created_roles.as_ref().map(|b| *b.get_ref()).unwrap_or(false),
        maps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = "[[users.attribute]]\nscim = \"userName\"\ndrupal = \"name\"\n";

    fn parse(drupal: &str) -> Result<Mapping, MappingError> {
        Mapping::parse(&format!("version = 1\n{drupal}\n{USERS}"))
    }

    #[test]
    fn shipped_mapping_and_its_table_prefixes_example_parse() {
        let shipped = include_str!("../../drupal_mapping.toml");
        assert!(Mapping::parse(shipped).unwrap().table_prefixes.is_empty());
        // The commented example, uncommented in place, is what it says.
        let example = ["[drupal.table_prefixes]", "users = ", "role = ", "sessions = "]
            .iter()
            .fold(shipped.to_string(), |text, line| text.replace(&format!("\n#   {line}"), &format!("\n{line}")));
        let m = Mapping::parse(&example).unwrap();
        assert_eq!(m.table_prefixes.get("users").map(String::as_str), Some("shared_"));
        assert_eq!(m.table_prefixes.get("sessions").map(String::as_str), Some("shareddb."));
    }

    #[test]
    fn settings_prefixes_replace_the_files() {
        let mut m = parse("[drupal]\ntable_prefix = \"main_\"\n[drupal.table_prefixes]\nusers = \"shared_\"").unwrap();
        m.override_prefixes(None, None);
        assert_eq!((m.table_prefix.as_str(), m.table_prefixes.len()), ("main_", 1));
        let role = BTreeMap::from([("role".to_string(), "r_".to_string())]);
        m.override_prefixes(Some("p_"), Some(&role));
        assert_eq!(m.table_prefix, "p_");
        assert_eq!(m.table_prefixes, role);
        m.override_prefixes(None, Some(&BTreeMap::new()));
        assert!(m.table_prefixes.is_empty());
    }

    #[test]
    fn table_prefixes_default_to_none() {
        let m = parse("[drupal]\ntable_prefix = \"d_\"").unwrap();
        assert_eq!(m.table_prefix, "d_");
        assert!(m.table_prefixes.is_empty());
        let m = parse("").unwrap();
        assert_eq!(m.table_prefix, "");
        assert!(m.table_prefixes.is_empty());
    }

    #[test]
    fn table_prefixes_name_tables_with_their_own_prefix() {
        let m = parse(
            "[drupal]\ntable_prefix = \"main_\"\n[drupal.table_prefixes]\nusers = \"shared_\"\nrole = \"shareddb.\"\n\
             sessions = \"shareddb.pfx_\"",
        )
        .unwrap();
        assert_eq!(m.table_prefix, "main_");
        let expected: BTreeMap<String, String> =
            [("role", "shareddb."), ("sessions", "shareddb.pfx_"), ("users", "shared_")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(m.table_prefixes, expected);
    }

    #[test]
    fn table_prefixes_refuse_default_with_its_line() {
        let err = parse("[drupal]\ntable_prefix = \"main_\"\n\n[drupal.table_prefixes]\ndefault = \"x_\"").unwrap_err();
        assert_eq!(err.line, Some(6));
        assert!(err.message.contains("the default prefix is `table_prefix`"), "{err}");
    }

    #[test]
    fn table_prefixes_refuse_bad_prefixes_and_table_names_with_their_line() {
        let err = parse("[drupal.table_prefixes]\nusers = \"x`; drop\"").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("table prefix of users"), "{err}");
        let err = parse("[drupal.table_prefixes]\nusers = \"ok_\"\nUsers = \"shared_\"").unwrap_err();
        assert_eq!(err.line, Some(4));
        assert!(err.message.contains("a-z, 0-9"), "{err}");
        let err = parse("[drupal.table_prefixes]\nusers = 3").unwrap_err();
        assert_eq!(err.line, Some(3));
        let err = parse("[drupal]\ntable_prefix = \"a.b.c\"").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.starts_with("table_prefix: "), "{err}");
    }
}
