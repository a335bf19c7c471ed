-- Index checker (docs/reliability.md): walks an hnsw index and reports what
-- is wrong with it, one row per problem plus an 'info' summary row.
-- heapallindexed also checks that every visible table row is in the index
-- with the same vector (one extra table scan). raise_error turns any 'error'
-- row into an ERROR (SQLSTATE XX002) after the walk.
-- Takes ShareLock on the table (writers wait; readers do not). Only the
-- table's owner may run it (checked inside).
CREATE FUNCTION @extschema@.vecdb_index_check(index regclass, heapallindexed boolean DEFAULT true,
                                              raise_error boolean DEFAULT false,
                                              OUT severity text, OUT kind text, OUT blkno bigint,
                                              OUT node bigint, OUT detail text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'vecdb_index_check'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
