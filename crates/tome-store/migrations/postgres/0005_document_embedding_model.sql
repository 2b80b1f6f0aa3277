-- The model whose vectors all of a document's chunks carry. NULL on a processed document
-- means its vectors are missing (no embedder was available): it is found by keywords only
-- until `tome reindex` embeds it. A value other than the configured model's name means it
-- is due to be embedded again.
ALTER TABLE documents ADD COLUMN embedding_model TEXT;
