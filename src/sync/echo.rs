//! No echo: an account drupal-scim's own SCIM server writes (created or updated by the identity
//! provider) is recorded as in sync in the same transaction, so sync-out never sends the
//! provider's own change back to it. Installed on the store only when `[sync]` is configured.

use crate::drupal::tables::Tables;
use crate::drupal::users::AfterWrite;
use crate::mapping::model::Mapping;
use crate::sync::representation::represent;
use crate::sync::state::in_sync_statement;
use std::sync::Arc;

/// The store hook: the statement recording the account as written as in sync.
pub fn hook(mapping: Arc<Mapping>, tables: Tables) -> AfterWrite {
    Arc::new(move |record| {
        let rep = represent(&mapping, record);
        vec![in_sync_statement(&tables, record.uid, &record.uuid, &rep.fingerprint)]
    })
}
