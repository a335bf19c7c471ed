-- hnsw index access method (see docs/hnsw.md).

CREATE FUNCTION @extschema@.hnsw_handler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_handler' LANGUAGE C STRICT PARALLEL SAFE;

CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER @extschema@.hnsw_handler;
COMMENT ON ACCESS METHOD hnsw IS 'graph index (HNSW) for nearest-neighbour ORDER BY on vector and halfvec';

-- Support function 1 of every hnsw opclass: tells the access method the
-- metric and element type (a code: metric | type << 8).

CREATE FUNCTION @extschema@.hnsw_vector_l2_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_vector_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_vector_ip_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_vector_ip' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_vector_cosine_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_vector_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_vector_l1_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_vector_l1' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_halfvec_l2_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_halfvec_l2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_halfvec_ip_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_halfvec_ip' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_halfvec_cosine_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_halfvec_cosine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.hnsw_halfvec_l1_support(internal) RETURNS int4
    AS 'MODULE_PATHNAME', 'vecdb_hnsw_halfvec_l1' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;


CREATE OPERATOR CLASS @extschema@.vector_l2_ops DEFAULT FOR TYPE @extschema@.vector USING hnsw AS
    OPERATOR 1 @extschema@.<-> (@extschema@.vector, @extschema@.vector) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_vector_l2_support(internal);

CREATE OPERATOR CLASS @extschema@.vector_ip_ops FOR TYPE @extschema@.vector USING hnsw AS
    OPERATOR 1 @extschema@.<#> (@extschema@.vector, @extschema@.vector) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_vector_ip_support(internal);

CREATE OPERATOR CLASS @extschema@.vector_cosine_ops FOR TYPE @extschema@.vector USING hnsw AS
    OPERATOR 1 @extschema@.<=> (@extschema@.vector, @extschema@.vector) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_vector_cosine_support(internal);

CREATE OPERATOR CLASS @extschema@.vector_l1_ops FOR TYPE @extschema@.vector USING hnsw AS
    OPERATOR 1 @extschema@.<+> (@extschema@.vector, @extschema@.vector) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_vector_l1_support(internal);

CREATE OPERATOR CLASS @extschema@.halfvec_l2_ops DEFAULT FOR TYPE @extschema@.halfvec USING hnsw AS
    OPERATOR 1 @extschema@.<-> (@extschema@.halfvec, @extschema@.halfvec) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_halfvec_l2_support(internal);

CREATE OPERATOR CLASS @extschema@.halfvec_ip_ops FOR TYPE @extschema@.halfvec USING hnsw AS
    OPERATOR 1 @extschema@.<#> (@extschema@.halfvec, @extschema@.halfvec) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_halfvec_ip_support(internal);

CREATE OPERATOR CLASS @extschema@.halfvec_cosine_ops FOR TYPE @extschema@.halfvec USING hnsw AS
    OPERATOR 1 @extschema@.<=> (@extschema@.halfvec, @extschema@.halfvec) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_halfvec_cosine_support(internal);

CREATE OPERATOR CLASS @extschema@.halfvec_l1_ops FOR TYPE @extschema@.halfvec USING hnsw AS
    OPERATOR 1 @extschema@.<+> (@extschema@.halfvec, @extschema@.halfvec) FOR ORDER BY pg_catalog.float_ops,
    FUNCTION 1 @extschema@.hnsw_halfvec_l1_support(internal);

-- Counters of the last hnsw index scan in this backend (benchmarks).
CREATE FUNCTION @extschema@.vecdb_last_scan_stats(OUT distances bigint, OUT buffer_accesses bigint,
                                                  OUT visited bigint, OUT returned bigint)
    RETURNS record AS 'MODULE_PATHNAME', 'vecdb_last_scan_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
