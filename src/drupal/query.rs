//! Store-neutral user query → SQL WHERE clause with bound values only. Identifiers come from
//! constants and the validated mapping.

use crate::drupal::charset::Repertoire;
use crate::drupal::model::{Cmp, DbValue, UserColumn, UserQuery};
use crate::drupal::site::Site;

pub use crate::drupal::schema::fragments::like_escape;
use mysql_async::Value;

/// The SQL of a single-valued column on the site's account join (`Site::accounts_from`).
fn column_sql(site: &Site, column: &UserColumn) -> Option<String> {
    Some(match column {
        UserColumn::Uuid => site.schema.id_sql().into(),
        UserColumn::ExternalId => "s.`external_id`".into(),
        UserColumn::Created => "d.`created`".into(),
        UserColumn::Changed => site.schema.changed_sql().into(),
        UserColumn::Base(c) => site.schema.base_filter_sql(*c),
        UserColumn::Field(_) | UserColumn::Role => return None,
    })
}

/// What a column can hold: ids and role ids are ASCII, externalId utf8mb4, the rest as the site's
/// tables say.
fn repertoire(site: &Site, column: &UserColumn) -> Repertoire {
    match column {
        UserColumn::Uuid | UserColumn::Role => Repertoire::Ascii,
        UserColumn::ExternalId | UserColumn::Created | UserColumn::Changed => Repertoire::Full,
        UserColumn::Base(_) => site.repertoires.account,
        UserColumn::Field(f) => site.repertoires.field(f),
    }
}

/// `expr <op> ?` for one comparison, pushing its bound value.
fn comparison(expr: &str, cmp: Cmp, value: &DbValue, params: &mut Vec<Value>) -> String {
    if *value == DbValue::Null {
        return match cmp {
            Cmp::Ne => format!("{expr} IS NOT NULL"),
            _ => format!("{expr} IS NULL"),
        };
    }
    let text = match value {
        DbValue::Text(s) => s.clone(),
        DbValue::Int(i) => i.to_string(),
        DbValue::Null => String::new(),
    };
    let (op, bound): (&str, Value) = match cmp {
        Cmp::Eq => ("=", value.clone().into()),
        Cmp::Ne => ("<>", value.clone().into()),
        Cmp::Gt => (">", value.clone().into()),
        Cmp::Ge => (">=", value.clone().into()),
        Cmp::Lt => ("<", value.clone().into()),
        Cmp::Le => ("<=", value.clone().into()),
        Cmp::Contains => ("LIKE", format!("%{}%", like_escape(&text)).into()),
        Cmp::StartsWith => ("LIKE", format!("{}%", like_escape(&text)).into()),
        Cmp::EndsWith => ("LIKE", format!("%{}", like_escape(&text)).into()),
    };
    params.push(bound);
    if op == "LIKE" { format!("{expr} LIKE ? ESCAPE '\\\\'") } else { format!("{expr} {op} ?") }
}

/// An EXISTS over a multi-value table (a field or the roles) for one comparison.
fn exists_sql(site: &Site, column: &UserColumn, cmp: Option<(Cmp, &DbValue)>, params: &mut Vec<Value>) -> String {
    let (values, roles) = match column {
        UserColumn::Field(f) => (site.schema.field_values(f), false),
        _ => (site.schema.role_values(), true),
    };
    let value_col = values.value;
    // Drupal reads only the rows in the account's own language (§1.9); so does a filter.
    let head = format!(
        "SELECT 1 FROM {} x WHERE x.`{}` = d.`uid` AND {} AND {}",
        values.table,
        values.owner,
        values.conditions,
        site.schema.value_language_condition(roles)
    );
    match cmp {
        None => format!("EXISTS ({head})"),
        // "has no value equal to v": SCIM ne over a multi-valued attribute.
        Some((Cmp::Ne, v)) => {
            let inner = comparison(&value_col, Cmp::Eq, v, params);
            format!("NOT EXISTS ({head} AND {inner})")
        }
        Some((cmp, v)) => {
            let inner = comparison(&value_col, cmp, v, params);
            format!("EXISTS ({head} AND {inner})")
        }
    }
}

/// Translate a query into a WHERE fragment.
pub fn where_sql(site: &Site, query: &UserQuery, params: &mut Vec<Value>) -> String {
    match query {
        UserQuery::True => "1 = 1".into(),
        UserQuery::False => "1 = 0".into(),
        UserQuery::And(a, b) => format!("({} AND {})", where_sql(site, a, params), where_sql(site, b, params)),
        UserQuery::Or(a, b) => format!("({} OR {})", where_sql(site, a, params), where_sql(site, b, params)),
        // A comparison on a NULL column (no externalId, no mail) is NULL in SQL, and NOT NULL is
        // still NULL: read it as false first, as SCIM does for an absent attribute.
        UserQuery::Not(a) => format!("NOT COALESCE({}, 0)", where_sql(site, a, params)),
        UserQuery::Present(column) => match column_sql(site, column) {
            Some(expr) => format!("({expr} IS NOT NULL AND {expr} <> '')"),
            None => exists_sql(site, column, None, params),
        },
        // A value the column cannot hold equals (or contains) nothing stored there.
        UserQuery::Compare { column, cmp, value: DbValue::Text(text) } if !repertoire(site, column).holds(text) => {
            if *cmp == Cmp::Ne {
                "1 = 1".into()
            } else {
                "1 = 0".into()
            }
        }
        // An id lookup (every GET, and Entra's member checks) uses the ids' indexes.
        UserQuery::Compare { column: UserColumn::Uuid, cmp: Cmp::Eq, value: DbValue::Text(id) } => {
            site.schema.ids_condition(std::slice::from_ref(id), params)
        }
        UserQuery::Compare { column, cmp, value } => match column_sql(site, column) {
            Some(expr) if *cmp == Cmp::Ne && *value != DbValue::Null => {
                // SCIM ne is also true where the attribute has no value at all.
                let inner = comparison(&expr, Cmp::Ne, value, params);
                format!("({inner} OR {expr} IS NULL)")
            }
            Some(expr) => comparison(&expr, *cmp, value, params),
            None if *value == DbValue::Null => {
                let exists = exists_sql(site, column, None, params);
                if *cmp == Cmp::Ne { exists } else { format!("NOT {exists}") }
            }
            None => exists_sql(site, column, Some((*cmp, value)), params),
        },
    }
}

/// ORDER BY expression of a sort column (multi-valued columns cannot be sorted on).
pub fn order_sql(site: &Site, column: &UserColumn) -> String {
    match column_sql(site, column) {
        Some(expr) => expr,
        None => match column {
            UserColumn::Field(f) => {
                let values = site.schema.field_values(f);
                format!(
                    "(SELECT MIN({}) FROM {} x WHERE x.`{}` = d.`uid` AND {} AND {})",
                    values.value,
                    values.table,
                    values.owner,
                    values.conditions,
                    site.schema.value_language_condition(false)
                )
            }
            _ => "d.`uid`".into(),
        },
    }
}
