//! Errors of the Drupal store. Each says what a client should be told; the cause stays in the log.

/// A failure while reading or writing Drupal's tables.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time (answered as 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A row the request names does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule Drupal enforces would be broken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A value Drupal would reject.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The account or role is protected by the mapping and SCIM may not change it.
    #[error("protected: {0}")]
    Protected(String),
    /// The account changed since the client's version of it was read (a conditional write).
    #[error("stale: {0}")]
    Stale(String),
    /// Something that cannot happen unless the database or the code is not what it should be
    /// (answered as 500, never as the client's fault).
    #[error("internal: {0}")]
    Internal(String),
    /// A row holds what Drupal's schema does not allow or drupal-scim cannot read (a NULL in a
    /// NOT NULL column, a value of another type): the site's data is at fault, not the request
    /// (500). The message names the table and column, never the value.
    #[error("unexpected data in the Drupal database: {0}")]
    Data(String),
    /// Anything else from the database driver.
    #[error("database error: {0}")]
    Db(#[from] mysql_async::Error),
}

impl StoreError {
    /// True for errors worth retrying the whole transaction for (deadlock, lock wait timeout).
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Db(mysql_async::Error::Server(e)) => e.code == 1213 || e.code == 1205,
            _ => false,
        }
    }

    /// True when the server said the key is a duplicate (1062).
    pub fn is_duplicate_key(&self) -> bool {
        matches!(self, StoreError::Db(mysql_async::Error::Server(e)) if e.code == 1062)
    }
}

/// MariaDB error code for "table doesn't exist": on cache tables it means "nothing to invalidate".
pub const ER_NO_SUCH_TABLE: u16 = 1146;
