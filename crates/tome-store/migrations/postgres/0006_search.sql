-- Retrieval on PostgreSQL: full-text search over chunk text (English configuration:
-- Snowball stemming, stop words) with a GIN index. Vectors are searched with pgvector's
-- HNSW; being per model (the column is dimension-free), those indexes are created by the
-- application when it first searches a model's vectors.
SET tome.tenant_id = '*';
ALTER TABLE document_chunks
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;
CREATE INDEX document_chunks_search_idx ON document_chunks USING gin (search_vector);
