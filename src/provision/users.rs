//! SCIM Users over Drupal accounts.

use crate::drupal::error::StoreError;
use crate::drupal::model::{BaseColumn, DbValue, UserColumn, UserQuery, UserRecord, UserWrite};
use crate::drupal::users::UserStore;
use crate::mapping::model::Mapping;
use crate::mapping::query::{user_query, user_sort};
use crate::mapping::users::{GroupRef, diff, from_resource, to_resource};
use crate::scim::error::ScimError;
use crate::scim::list::{ListQuery, list_response};
use crate::scim::patch;
use crate::scim::projection::Projection;
use crate::scim::resource::from_body;
use crate::scim::schema::USER_RESOURCE;
use serde_json::Value;
use std::sync::Arc;

/// The Users endpoint's logic.
#[derive(Clone)]
pub struct UserService {
    pub mapping: Arc<Mapping>,
    pub store: UserStore,
}

/// What a create answered: the resource, and whether it already existed (idempotent re-POST).
pub struct Created {
    pub resource: Value,
    pub existed: bool,
}

impl UserService {
    /// A service over a store with a mapping.
    pub fn new(mapping: Arc<Mapping>, store: UserStore) -> Self {
        UserService { mapping, store }
    }

    fn render(&self, record: &UserRecord, base: &str) -> Value {
        let groups: Vec<GroupRef> = record
            .roles
            .iter()
            .map(|r| GroupRef { id: r.clone(), display: r.clone() })
            .collect();
        to_resource(&self.mapping, record, &format!("{base}/Users/{}", record.uuid), &groups)
    }

    async fn current(&self, id: &str) -> Result<UserRecord, ScimError> {
        self.store.get(id).await?.ok_or_else(|| ScimError::not_found(format!("User {id:?} not found")))
    }

    /// `GET /Users`.
    pub async fn list(&self, query: &ListQuery, base: &str) -> Result<Value, ScimError> {
        let filter = match &query.filter {
            Some(f) => user_query(&self.mapping, f)?,
            None => UserQuery::True,
        };
        let sort = user_sort(&self.mapping, query.sort_by.as_deref(), query.descending)?;
        let page = self.store.search(&filter, sort.as_ref(), query.offset(), query.count).await?;
        let projection = Projection::new(&query.attributes, &query.excluded_attributes);
        let resources = page.records.iter().map(|r| projection.apply(self.render(r, base))).collect();
        Ok(list_response(page.total, query.start_index, resources))
    }

    /// `GET /Users/{id}`.
    pub async fn get(&self, id: &str, base: &str, projection: &Projection) -> Result<Value, ScimError> {
        let record = self.current(id).await?;
        Ok(projection.apply(self.render(&record, base)))
    }

    /// `POST /Users`.
    pub async fn create(&self, body: &Value, base: &str) -> Result<Created, ScimError> {
        let resource = from_body(body, &USER_RESOURCE)?;
        let write = from_resource(&self.mapping, &resource)?;
        let Some(DbValue::Text(name)) = write.base.get(&BaseColumn::Name).cloned() else {
            return Err(ScimError::invalid_value("userName is required"));
        };
        if let Some(existing) = self.same_account(&write, &name).await? {
            // Entra re-sends a create whose answer it did not receive: converge, don't conflict.
            let changes = diff(&existing, &write);
            let record = self.store.update(&existing, &changes).await?;
            return Ok(Created { resource: self.render(&record, base), existed: true });
        }
        match self.store.create(&write).await {
            Ok(record) => Ok(Created { resource: self.render(&record, base), existed: false }),
            // A concurrent create of the same account (a re-send racing the original) won: the
            // name is taken by the very account this request describes, so converge on it too.
            Err(StoreError::Conflict(detail)) => match self.same_account(&write, &name).await? {
                Some(existing) => {
                    let changes = diff(&existing, &write);
                    let record = self.store.update(&existing, &changes).await?;
                    Ok(Created { resource: self.render(&record, base), existed: true })
                }
                None => Err(StoreError::Conflict(detail).into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The account this create re-sends: same externalId and same userName.
    async fn same_account(&self, write: &UserWrite, name: &str) -> Result<Option<UserRecord>, ScimError> {
        let Some(Some(ext)) = &write.external_id else { return Ok(None) };
        let query = UserQuery::And(
            Box::new(UserQuery::Compare {
                column: UserColumn::ExternalId,
                cmp: crate::drupal::model::Cmp::Eq,
                value: DbValue::Text(ext.clone()),
            }),
            Box::new(UserQuery::Compare {
                column: UserColumn::Base(BaseColumn::Name),
                cmp: crate::drupal::model::Cmp::Eq,
                value: DbValue::Text(name.to_string()),
            }),
        );
        let page = self.store.search(&query, None, 0, 1).await?;
        Ok(page.records.into_iter().next())
    }

    /// `PUT /Users/{id}`.
    pub async fn replace(&self, id: &str, body: &Value, base: &str) -> Result<Value, ScimError> {
        let current = self.current(id).await?;
        let resource = from_body(body, &USER_RESOURCE)?;
        let mut write = from_resource(&self.mapping, &resource)?;
        if write.external_id == Some(None) {
            // Okta's PUT does not always carry externalId; keep the link Entra matches on.
            write.external_id = None;
        }
        let changes = diff(&current, &write);
        let record = self.store.update(&current, &changes).await?;
        Ok(self.render(&record, base))
    }

    /// `PATCH /Users/{id}`: ops applied to the in-memory resource, then written in one transaction.
    pub async fn patch(&self, id: &str, body: &Value, base: &str) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let current = self.current(id).await?;
        let mut resource = self.render(&current, base);
        patch::apply(&mut resource, &ops, &USER_RESOURCE)?;
        let write = from_resource(&self.mapping, &resource)?;
        let changes = diff(&current, &write);
        let record = self.store.update(&current, &changes).await?;
        Ok(self.render(&record, base))
    }

    /// `DELETE /Users/{id}`: the mapping's delete policy (block and hide).
    pub async fn delete(&self, id: &str) -> Result<(), ScimError> {
        let current = self.current(id).await?;
        self.store.block_and_hide(&current).await?;
        Ok(())
    }
}
