//! Reading result rows without ever panicking. mysql_async's typed reads
//! (`exec::<(u32, String)>`, `exec_first::<i64>`, `Row::take::<T>`, `from_row`) panic on a NULL
//! or a value of another type, which drops the client's connection with no answer. The store
//! reads `Row`s and converts each column here instead: a NULL where Drupal's schema allows one
//! is read as `Option`, anything unexpected becomes [`StoreError::Data`] naming the column (never
//! the value, which may be personal data).

use crate::drupal::error::StoreError;
use mysql_async::prelude::*;
use mysql_async::{Params, Row, Value};
use std::fmt::Display;

/// Column `index` of `row` as `T` (`Option<T>` for a column that may be NULL). `what` names the
/// column in the error (`users_field_data.uid`); it is only formatted when the read fails.
pub fn take<T: FromValue>(row: &mut Row, index: usize, what: impl Display) -> Result<T, StoreError> {
    match row.take_opt::<Value, usize>(index) {
        Some(Ok(value)) => convert(value, what),
        Some(Err(e)) => convert(e.0, what),
        None => Err(StoreError::Data(format!("{what} is missing from a result row"))),
    }
}

/// A value as `T`, or the error naming `what` and the kind of value found.
pub fn convert<T: FromValue>(value: Value, what: impl Display) -> Result<T, StoreError> {
    T::from_value_opt(value)
        .map_err(|e| StoreError::Data(format!("{what} holds {}, which drupal-scim cannot read here", kind(&e.0))))
}

/// The first column of the first row (`None`: no row).
pub async fn first<T: FromValue, Q: Queryable>(
    q: &mut Q,
    sql: String,
    params: impl Into<Params> + Send,
    what: impl Display,
) -> Result<Option<T>, StoreError> {
    let row: Option<Row> = q.exec_first(sql, params).await?;
    row.map(|mut row| take(&mut row, 0, what)).transpose()
}

/// The first column of every row.
pub async fn column<T: FromValue, Q: Queryable>(
    q: &mut Q,
    sql: String,
    params: impl Into<Params> + Send,
    what: impl Display,
) -> Result<Vec<T>, StoreError> {
    let rows: Vec<Row> = q.exec(sql, params).await?;
    rows.into_iter().map(|mut row| take(&mut row, 0, &what)).collect()
}

/// What kind of value a column held, for messages (never the value itself).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::NULL => "NULL",
        Value::Bytes(_) => "text",
        Value::Int(_) | Value::UInt(_) => "an integer",
        Value::Float(_) | Value::Double(_) => "a number",
        Value::Date(..) => "a date",
        Value::Time(..) => "a time",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_other_types_are_errors_naming_the_column_not_the_value() {
        let e = convert::<u32>(Value::NULL, "users.uid").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected data in the Drupal database: users.uid holds NULL, which drupal-scim cannot read here"
        );
        let e = convert::<u32>(Value::Bytes(b"secret@example.com".to_vec()), "users.mail").unwrap_err();
        assert!(matches!(&e, StoreError::Data(m) if m.contains("users.mail holds text")), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert_eq!(convert::<Option<String>>(Value::NULL, "users.mail").unwrap(), None);
        assert_eq!(convert::<Option<u32>>(Value::Bytes(b"7".to_vec()), "users.uid").unwrap(), Some(7));
        assert!(convert::<Option<u32>>(Value::Bytes(b"x".to_vec()), "users.uid").is_err());
    }
}
