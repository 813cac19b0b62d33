//! Store errors as SCIM errors: one place decides what a client is told; causes go to the log.

use crate::drupal::error::StoreError;
use crate::scim::error::{ScimError, ScimType};

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> ScimError {
        match e {
            StoreError::Unavailable(cause) => {
                log::warn!("database unavailable: {cause}");
                ScimError::new(503, None, "the Drupal database is unavailable right now; try again later")
            }
            StoreError::NotFound(what) => ScimError::not_found(format!("{what} not found")),
            StoreError::Conflict(detail) => ScimError::uniqueness(detail),
            StoreError::Invalid(detail) => ScimError::invalid_value(detail),
            StoreError::Protected(detail) => ScimError::new(400, Some(ScimType::Mutability), detail),
            StoreError::Stale(detail) => ScimError::new(412, None, detail),
            StoreError::Internal(cause) => {
                log::error!("internal error: {cause}");
                ScimError::new(500, None, format!("internal error: {cause} (see the server log)"))
            }
            StoreError::Data(what) => {
                // Nothing the client can fix: the operator must look at the row the log names.
                log::error!(
                    "unexpected data in the Drupal database (request {}): {what}",
                    crate::telemetry::request_id()
                );
                ScimError::new(
                    500,
                    None,
                    format!("drupal-scim cannot read a row of the Drupal database: {what} (see the server log)"),
                )
            }
            StoreError::Db(e) => {
                if matches!(&e, mysql_async::Error::Server(s) if s.code == 1205 || s.code == 1213) {
                    // Still locked after the retries: Drupal (or a schema change) holds what
                    // the request needs. Nothing was written; the client should come back.
                    log::warn!("database busy: {e}");
                    ScimError::new(503, None, "the Drupal database is busy (a lock is held); try again later")
                } else if matches!(&e, mysql_async::Error::Server(s) if s.code == ER_TRUNCATED_WRONG_VALUE_FOR_FIELD) {
                    // Strict mode refused a character the column's charset lacks: a Drupal 7 site
                    // on 3-byte `utf8` tables cannot store emoji and other 4-byte characters.
                    log::info!("value refused by the database: {e}");
                    ScimError::invalid_value(
                        "a value contains characters (such as emoji) that this Drupal database's tables cannot store: they use 3-byte utf8, not utf8mb4",
                    )
                } else if is_connection_error(&e) {
                    log::warn!("database connection failed: {e}");
                    ScimError::new(503, None, "the Drupal database is unavailable right now; try again later")
                } else {
                    log::error!("database error: {e}");
                    ScimError::new(
                        500,
                        None,
                        "internal error while writing to the Drupal database (see the server log)",
                    )
                }
            }
        }
    }
}

/// MariaDB's "Incorrect string value" (a character the column's character set lacks).
const ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: u16 = 1366;

fn is_connection_error(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => true,
        // 2006/2013: server gone away / lost connection; 1040: too many connections;
        // 1053: server shutdown in progress; 1927: connection killed.
        mysql_async::Error::Server(s) => matches!(s.code, 1040 | 1053 | 1927 | 2006 | 2013),
        _ => false,
    }
}
