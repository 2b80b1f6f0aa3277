-- Retrieval on SQLite: a BM25 keyword index (FTS5) and the change feed that keeps the
-- in-process vector index (under <data>/index) in step with the chunks.
--
-- document_chunks is rebuilt with an INTEGER PRIMARY KEY, `chunk_key`: FTS5 and the vector
-- index refer to chunks by an integer, and only an INTEGER PRIMARY KEY is a rowid that
-- VACUUM never renumbers. `id` stays the chunk's public identity.
CREATE TABLE document_chunks_new (
    chunk_key       INTEGER PRIMARY KEY,
    id              BLOB NOT NULL UNIQUE,
    tenant_id       BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    document_id     BLOB NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal         INTEGER NOT NULL CHECK (ordinal >= 0),
    content         TEXT NOT NULL,
    token_count     INTEGER NOT NULL CHECK (token_count >= 0),
    metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    -- Little-endian f32 values; length / 4 is the dimension.
    embedding       BLOB CHECK (embedding IS NULL OR length(embedding) % 4 = 0),
    embedding_model TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (document_id, ordinal)
) STRICT;
INSERT INTO document_chunks_new
    (id, tenant_id, document_id, ordinal, content, token_count, metadata, embedding, embedding_model, created_at)
SELECT id, tenant_id, document_id, ordinal, content, token_count, metadata, embedding, embedding_model, created_at
FROM document_chunks ORDER BY rowid;
DROP TABLE document_chunks;
ALTER TABLE document_chunks_new RENAME TO document_chunks;
CREATE INDEX document_chunks_document_idx ON document_chunks (document_id);
CREATE INDEX document_chunks_tenant_idx ON document_chunks (tenant_id);

-- BM25 over chunk text: Unicode word boundaries, case and diacritics folded, Porter
-- stemming (the analysis of the published BM25 baselines). External content: the text is
-- stored once, in document_chunks; the triggers keep the index in the same transaction.
CREATE VIRTUAL TABLE document_chunks_fts USING fts5 (
    content,
    content = 'document_chunks',
    content_rowid = 'chunk_key',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO document_chunks_fts (document_chunks_fts) VALUES ('rebuild');

CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (rowid, content) VALUES (new.chunk_key, new.content);
END;
CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, content) VALUES ('delete', old.chunk_key, old.content);
END;
CREATE TRIGGER document_chunks_fts_update AFTER UPDATE OF content ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, content) VALUES ('delete', old.chunk_key, old.content);
    INSERT INTO document_chunks_fts (rowid, content) VALUES (new.chunk_key, new.content);
END;

-- What changed since a vector index last looked: a chunk's vector (chunk_key set) or a
-- document's searchable facts (chunk_key NULL). Written by triggers in the writing
-- transaction, so an index that replays the feed never misses a change.
CREATE TABLE search_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   BLOB NOT NULL,
    document_id BLOB NOT NULL,
    chunk_key   INTEGER
) STRICT;

CREATE TRIGGER search_changes_chunk_insert AFTER INSERT ON document_chunks
WHEN new.embedding IS NOT NULL BEGIN
    INSERT INTO search_changes (tenant_id, document_id, chunk_key) VALUES (new.tenant_id, new.document_id, new.chunk_key);
END;
CREATE TRIGGER search_changes_chunk_vector AFTER UPDATE OF embedding, embedding_model ON document_chunks BEGIN
    INSERT INTO search_changes (tenant_id, document_id, chunk_key) VALUES (new.tenant_id, new.document_id, new.chunk_key);
END;
CREATE TRIGGER search_changes_chunk_delete AFTER DELETE ON document_chunks
WHEN old.embedding IS NOT NULL BEGIN
    INSERT INTO search_changes (tenant_id, document_id, chunk_key) VALUES (old.tenant_id, old.document_id, old.chunk_key);
END;
CREATE TRIGGER search_changes_document AFTER UPDATE OF owner_id, project_id, visibility, document_type, deleted_at
ON documents BEGIN
    INSERT INTO search_changes (tenant_id, document_id) VALUES (new.tenant_id, new.id);
END;
