-- What a transcription job has done while it runs (seconds of audio heard), and what the
-- documents it adds will be: their project and visibility, chosen when it was created.
ALTER TABLE transcription_jobs ADD COLUMN progress_seconds REAL NOT NULL DEFAULT 0 CHECK (progress_seconds >= 0);
ALTER TABLE transcription_jobs ADD COLUMN project_id BLOB REFERENCES projects (id) ON DELETE SET NULL;
ALTER TABLE transcription_jobs ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('tenant', 'private'));
-- The model that heard it.
ALTER TABLE transcription_jobs ADD COLUMN model TEXT;
CREATE INDEX transcription_jobs_tenant_created_idx ON transcription_jobs (tenant_id, id);
