//! The store's own vocabulary: Drupal columns, values, user records, writes and the store-neutral
//! query the mapping builds from a SCIM filter. Nothing here knows SCIM or HTTP.

use std::collections::BTreeMap;

/// Unix time now, as Drupal stores times.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A single-value column of `users_field_data` the mapping may target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BaseColumn {
    Name,
    Mail,
    Status,
    Timezone,
    PreferredLangcode,
    PreferredAdminLangcode,
    Pass,
}

impl BaseColumn {
    /// Every mappable column.
    pub const ALL: [BaseColumn; 7] = [
        BaseColumn::Name,
        BaseColumn::Mail,
        BaseColumn::Status,
        BaseColumn::Timezone,
        BaseColumn::PreferredLangcode,
        BaseColumn::PreferredAdminLangcode,
        BaseColumn::Pass,
    ];
    /// Columns read back into a record (never the password hash).
    pub const READABLE: [BaseColumn; 6] = [
        BaseColumn::Name,
        BaseColumn::Mail,
        BaseColumn::Status,
        BaseColumn::Timezone,
        BaseColumn::PreferredLangcode,
        BaseColumn::PreferredAdminLangcode,
    ];

    /// Drupal's column name.
    pub fn column(self) -> &'static str {
        match self {
            BaseColumn::Name => "name",
            BaseColumn::Mail => "mail",
            BaseColumn::Status => "status",
            BaseColumn::Timezone => "timezone",
            BaseColumn::PreferredLangcode => "preferred_langcode",
            BaseColumn::PreferredAdminLangcode => "preferred_admin_langcode",
            BaseColumn::Pass => "pass",
        }
    }

    /// The column for a Drupal name, if it is one the mapping may target.
    /// Drupal 7's name of the preferred language column, `language`, is accepted too.
    pub fn from_column(name: &str) -> Option<BaseColumn> {
        if name == "language" {
            return Some(BaseColumn::PreferredLangcode);
        }
        BaseColumn::ALL.into_iter().find(|c| c.column() == name)
    }
}

/// A value as stored in a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbValue {
    Null,
    Int(i64),
    Text(String),
}

impl DbValue {
    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            DbValue::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            DbValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<DbValue> for mysql_async::Value {
    fn from(v: DbValue) -> Self {
        match v {
            DbValue::Null => mysql_async::Value::NULL,
            DbValue::Int(i) => mysql_async::Value::Int(i),
            DbValue::Text(s) => mysql_async::Value::Bytes(s.into_bytes()),
        }
    }
}

/// One Drupal account as SCIM sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub uid: u32,
    pub uuid: String,
    pub langcode: String,
    pub created: i64,
    pub changed: i64,
    /// The readable base columns.
    pub base: BTreeMap<BaseColumn, DbValue>,
    /// Mapped configurable fields, values in delta order.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Role ids from `user__roles`, in delta order.
    pub roles: Vec<String>,
    /// The SCIM externalId kept in the bridge table.
    pub external_id: Option<String>,
}

impl UserRecord {
    /// A base column's value (NULL when absent).
    pub fn get(&self, column: BaseColumn) -> &DbValue {
        self.base.get(&column).unwrap_or(&DbValue::Null)
    }
    /// Whether the account is active (status 1).
    pub fn is_active(&self) -> bool {
        self.get(BaseColumn::Status).as_int() == Some(1)
    }
}

/// What a create or update writes. Absent entries are left as they are (update) or defaulted
/// the way Drupal defaults them (create).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserWrite {
    pub base: BTreeMap<BaseColumn, DbValue>,
    /// Fields to rewrite completely (an empty list deletes the field's rows).
    pub fields: BTreeMap<String, Vec<String>>,
    /// A new password in plain text (hashed by the store off the async workers).
    pub password: Option<String>,
    /// `Some(None)` clears the externalId.
    pub external_id: Option<Option<String>>,
    /// Roles to take away in the same transaction (deprovisioning with `block_remove_roles`).
    pub revoke_roles: Vec<String>,
}

impl UserWrite {
    /// True when nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
            && self.fields.is_empty()
            && self.password.is_none()
            && self.external_id.is_none()
            && self.revoke_roles.is_empty()
    }
}

/// What a store-neutral query compares.
#[derive(Debug, Clone, PartialEq)]
pub enum UserColumn {
    Uuid,
    ExternalId,
    Created,
    Changed,
    Base(BaseColumn),
    Field(String),
    Role,
}

/// Comparison operators the store understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A store-neutral filter over users, built by the mapping from a SCIM filter.
#[derive(Debug, Clone, PartialEq)]
pub enum UserQuery {
    True,
    False,
    And(Box<UserQuery>, Box<UserQuery>),
    Or(Box<UserQuery>, Box<UserQuery>),
    Not(Box<UserQuery>),
    Compare { column: UserColumn, cmp: Cmp, value: DbValue },
    Present(UserColumn),
}

/// Sort key and direction of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub column: UserColumn,
    pub descending: bool,
}

/// One role, as much of it as SCIM needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub uuid: String,
    pub label: String,
    pub weight: i64,
    /// Drupal's "administrator role" flag: every permission. Always protected from SCIM.
    pub is_admin: bool,
    /// Holds a permission that leads to any account (permissions.rs): protected like an admin role.
    pub escalates: bool,
}

impl Role {
    /// Whether holding this role puts an account out of SCIM's reach, and the role itself too.
    pub fn is_privileged(&self) -> bool {
        self.is_admin || self.escalates
    }
}
