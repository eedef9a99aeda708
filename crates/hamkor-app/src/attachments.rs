//! Attachments: uploading needs the right to change the record, seeing and downloading
//! needs the right to see it (a record you cannot see has no files for you), removing is
//! for the uploader or whoever may change the record.

use crate::{App, AppError, AppResult};
use hamkor_domain::files::check_upload;
use hamkor_domain::objects::ObjectDef;
use hamkor_domain::{Action, FieldError, Id, Timestamp};
use hamkor_store::Actor;
use hamkor_store::attachments::{self, AttachmentMeta};
use hamkor_store::audit;
use hamkor_store::records;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

impl App {
    /// Checks and stores a file on a record.
    pub async fn attach(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        record: Id,
        name: &str,
        bytes: Vec<u8>,
        max: usize,
    ) -> AppResult<AttachmentMeta> {
        let mut db = self.db.clone();
        let r = records::get(&mut db, actor, def, record).await?;
        if !r.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let checked = check_upload(name, &bytes, max).map_err(|e| {
            let err = FieldError::new("file", e.message_key());
            if e == hamkor_domain::files::FileError::TooLarge {
                let size = if max >= 1024 * 1024 {
                    format!("{} MiB", max / (1024 * 1024))
                } else {
                    format!("{} KiB", max / 1024)
                };
                err.with("max", size)
            } else {
                err
            }
        })?;
        let meta = AttachmentMeta {
            id: Id::new(),
            object: def.object,
            record_id: record,
            name: checked.name,
            content_type: checked.content_type.to_string(),
            size: bytes.len() as i64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            uploaded_by: actor.user_id,
            created_at: Timestamp::now(),
        };
        let mut tx = self.db.begin().await?;
        attachments::insert(&mut tx, &meta, bytes).await?;
        let mut changes = Map::new();
        changes.insert(
            "attachments".into(),
            json!([Value::Null, format!("{} ({} bytes)", meta.name, meta.size)]),
        );
        audit::record(&mut tx, def.object, record, "attach", actor, changes).await?;
        tx.commit().await?;
        Ok(meta)
    }

    /// A record's attachments, if the actor may see the record.
    pub async fn attachments(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        record: Id,
    ) -> AppResult<Vec<AttachmentMeta>> {
        let mut db = self.db.clone();
        records::get(&mut db, actor, def, record).await?;
        Ok(attachments::for_record(&mut db, def.object, record).await?)
    }

    /// An attachment and its content, if the actor may see its record.
    pub async fn download(&self, actor: &Actor, id: Id) -> AppResult<(AttachmentMeta, Vec<u8>)> {
        let mut db = self.db.clone();
        let meta = attachments::get_meta(&mut db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        records::get(&mut db, actor, ObjectDef::get(meta.object), meta.record_id).await?;
        let data = attachments::get_data(&mut db, id).await?;
        Ok((meta, data))
    }

    pub async fn delete_attachment(&self, actor: &Actor, id: Id) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        let meta = attachments::get_meta(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let r = records::get(&mut tx, actor, ObjectDef::get(meta.object), meta.record_id).await?;
        if meta.uploaded_by != actor.user_id && !r.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        attachments::delete(&mut tx, id).await?;
        let mut changes = Map::new();
        changes.insert("attachments".into(), json!([meta.name, Value::Null]));
        audit::record(
            &mut tx,
            meta.object,
            meta.record_id,
            "detach",
            actor,
            changes,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
