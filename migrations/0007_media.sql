-- Media store (issue 11, attachments): one row per (tenant, Discord attachment), the record of
-- its one-owner fetch into R2 (`MEDIA`). Written only through src/db/media.rs, every change a
-- compare-and-swap on `version` (relay_media::claim). The bytes live in R2 under `r2_key`;
-- `source_url` is the newest CDN URL the connector sent (it expires).
CREATE TABLE media_attachments (
  tenant_key       TEXT NOT NULL REFERENCES tenants(tenant_key) ON DELETE CASCADE,
  attachment_id    TEXT NOT NULL,
  message_id       TEXT,
  channel_id       TEXT,
  filename         TEXT NOT NULL,
  source_url       TEXT NOT NULL,
  declared_size    INTEGER NOT NULL,
  declared_type    TEXT,
  status           TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'fetching', 'stored', 'too_large', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  lease_until      INTEGER,
  next_attempt_at  INTEGER,
  version          INTEGER NOT NULL DEFAULT 0,
  content_type     TEXT,
  size             INTEGER,
  sha256           TEXT,
  r2_key           TEXT,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  stored_at        INTEGER,
  PRIMARY KEY (tenant_key, attachment_id)
);
-- The sweep: failures due for a retry and claims whose lease ran out.
CREATE INDEX media_attachments_due ON media_attachments (status, next_attempt_at);
CREATE INDEX media_attachments_by_message ON media_attachments (tenant_key, message_id);
