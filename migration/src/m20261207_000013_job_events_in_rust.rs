//! The job events are written by the outbox's code (`platform::outbox`), in the transaction of
//! each change of a row, rather than by a trigger on `outbox`: a reader of the progress finds
//! where its history comes from. Each event is written only if the row's status or attempts
//! differ from its latest one, which the index below makes one lookup.

use sea_orm_migration::prelude::*;

use crate::m20261123_000002_job_event::{recorder, recorder_dropped};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_all(manager, recorder_dropped(manager.get_database_backend())).await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_job_event_outbox")
                    .table("job_event")
                    .col("outbox_id")
                    .col("id")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_job_event_outbox")
                    .table("job_event")
                    .to_owned(),
            )
            .await?;
        crate::execute_all(manager, recorder(manager.get_database_backend())).await
    }
}
