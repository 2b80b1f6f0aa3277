-- The leaf of the branch a conversation shows (a message tree can hold several), and
-- whether its title was written by Tome (replaced after the first exchange) or by a person.
ALTER TABLE conversations ADD COLUMN current_message_id BLOB REFERENCES messages (id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN auto_title INTEGER NOT NULL DEFAULT 0 CHECK (auto_title IN (0, 1));
-- Usage sums and feedback lists read by tenant and time.
CREATE INDEX messages_tenant_created_idx ON messages (tenant_id, created_at);
CREATE INDEX feedback_tenant_created_idx ON feedback (tenant_id, created_at);
