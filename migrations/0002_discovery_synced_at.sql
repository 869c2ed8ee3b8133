-- When the connector last delivered a discovery snapshot, so operators (and the console) can
-- tell a pending "fetch guilds/channels" request from an answered one.
ALTER TABLE connectors ADD COLUMN discovery_synced_at INTEGER;
