-- Uploads are single-use and capped per user. `object_etag` is the stored object's ETag as it was when the
-- upload was attached to a message: a download (or a download link handed out while the upload URL could
-- still be used) checks the object against it and its declared `file_size`, so an object replaced through a
-- store that ignores `If-None-Match` is never served as the attachment.
ALTER TABLE message_attachments ADD COLUMN object_etag text NULL;

-- The per-user caps count (and sum) one uploader's unattached uploads at every presign.
CREATE INDEX message_attachments_unattached_uploader_idx
    ON message_attachments (uploader_id)
    WHERE message_id IS NULL;
