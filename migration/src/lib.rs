//! Schema migrations: one source for PostgreSQL and SQLite.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_data_model;
mod m20261123_000002_job_event;
mod m20261130_000003_member_search;
mod m20261130_000004_access_version;
mod m20261130_000005_prefix_indexes;
mod m20261130_000006_offboarding_trail;
mod m20261130_000007_offboarding_trace;
mod m20261201_000008_removed_members;
mod m20261201_000009_token_activity;
mod m20261201_000010_invitation_email;
mod m20261201_000011_invitation_email_links;
mod m20261207_000012_invitation_email_kind;
mod m20261207_000013_job_events_in_rust;
mod m20261207_000014_organization_owner;
mod m20261207_000015_scim_token;
mod m20261207_000016_scim_provisioning;

pub struct Migrator;

/// Runs hand-written SQL statements, in order (triggers, functions: what the schema builder
/// can't express).
async fn execute_all(
    manager: &SchemaManager<'_>,
    statements: &[impl AsRef<str>],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement.as_ref()).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_data_model::Migration),
            Box::new(m20261123_000002_job_event::Migration),
            Box::new(m20261130_000003_member_search::Migration),
            Box::new(m20261130_000004_access_version::Migration),
            Box::new(m20261130_000005_prefix_indexes::Migration),
            Box::new(m20261130_000006_offboarding_trail::Migration),
            Box::new(m20261130_000007_offboarding_trace::Migration),
            Box::new(m20261201_000008_removed_members::Migration),
            Box::new(m20261201_000009_token_activity::Migration),
            Box::new(m20261201_000010_invitation_email::Migration),
            Box::new(m20261201_000011_invitation_email_links::Migration),
            Box::new(m20261207_000012_invitation_email_kind::Migration),
            Box::new(m20261207_000013_job_events_in_rust::Migration),
            Box::new(m20261207_000014_organization_owner::Migration),
            Box::new(m20261207_000015_scim_token::Migration),
            Box::new(m20261207_000016_scim_provisioning::Migration),
        ]
    }
}
