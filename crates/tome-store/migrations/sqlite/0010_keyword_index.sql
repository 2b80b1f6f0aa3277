-- Keyword search moves from FTS5 to the in-process tantivy index (tome-store
-- search/keywords.rs), which, like the vector index, replays search_changes. FTS5 ranked
-- every matching row (no top-k pruning), which does not scale to a million chunks.
DROP TRIGGER document_chunks_fts_insert;
DROP TRIGGER document_chunks_fts_delete;
DROP TRIGGER document_chunks_fts_update;
DROP TABLE document_chunks_fts;

-- The feed now carries every chunk, with or without a vector (the keyword index needs
-- them all), and changes of a chunk's text.
DROP TRIGGER search_changes_chunk_insert;
DROP TRIGGER search_changes_chunk_delete;
CREATE TRIGGER search_changes_chunk_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO search_changes (tenant_id, document_id, chunk_key) VALUES (new.tenant_id, new.document_id, new.chunk_key);
END;
CREATE TRIGGER search_changes_chunk_delete AFTER DELETE ON document_chunks BEGIN
    INSERT INTO search_changes (tenant_id, document_id, chunk_key) VALUES (old.tenant_id, old.document_id, old.chunk_key);
END;
CREATE TRIGGER search_changes_chunk_content AFTER UPDATE OF content ON document_chunks BEGIN
    INSERT INTO search_changes (tenant_id, document_id, chunk_key) VALUES (new.tenant_id, new.document_id, new.chunk_key);
END;
