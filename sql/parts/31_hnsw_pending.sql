-- hnsw pending list (docs/hnsw.md "Pending list"): inserts append rows that
-- a background worker, VACUUM or this function links into the graph.

-- Merges the whole pending list now; returns the number of entries merged
-- (like gin_clean_pending_list). The index's owner only.
CREATE FUNCTION @extschema@.vecdb_hnsw_merge_pending(index regclass) RETURNS bigint
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_merge_pending' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Rows on the pending list that are not merged yet.
CREATE FUNCTION @extschema@.vecdb_hnsw_pending_count(index regclass) RETURNS bigint
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_pending_count' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
