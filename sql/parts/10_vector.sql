
-- ---------------------------------------------------------------------------
-- vector: float32 elements, up to 16000 dimensions; typmod = dimensions.
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.vector;

CREATE FUNCTION @extschema@.vector_in(cstring, oid, integer) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_out(@extschema@.vector) RETURNS cstring
    AS 'MODULE_PATHNAME', 'vecdb_vector_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_vector_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_typmod_out(integer) RETURNS cstring
    AS 'MODULE_PATHNAME', 'vecdb_vector_typmod_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_recv(internal, oid, integer) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_send(@extschema@.vector) RETURNS bytea
    AS 'MODULE_PATHNAME', 'vecdb_vector_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.vector (
    INPUT      = @extschema@.vector_in,
    OUTPUT     = @extschema@.vector_out,
    TYPMOD_IN  = @extschema@.vector_typmod_in,
    TYPMOD_OUT = @extschema@.vector_typmod_out,
    RECEIVE    = @extschema@.vector_recv,
    SEND       = @extschema@.vector_send,
    STORAGE    = external
);

-- Length coercion: enforces vector(n) on INSERT/UPDATE and on casts.
CREATE FUNCTION @extschema@.vector(@extschema@.vector, integer, boolean) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (@extschema@.vector AS @extschema@.vector)
    WITH FUNCTION @extschema@.vector(@extschema@.vector, integer, boolean) AS IMPLICIT;

-- Distances (float8) ---------------------------------------------------------

CREATE FUNCTION @extschema@.l2_distance(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.inner_product(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_distance(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l1_distance(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Support functions of the index opclasses.
CREATE FUNCTION @extschema@.vector_l2_squared_distance(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_l2_squared_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_negative_inner_product(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_spherical_distance(@extschema@.vector, @extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_spherical_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.<-> (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.l2_distance, COMMUTATOR = OPERATOR(@extschema@.<->)
);
CREATE OPERATOR @extschema@.<#> (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.vector_negative_inner_product, COMMUTATOR = OPERATOR(@extschema@.<#>)
);
CREATE OPERATOR @extschema@.<=> (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.cosine_distance, COMMUTATOR = OPERATOR(@extschema@.<=>)
);
CREATE OPERATOR @extschema@.<+> (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.l1_distance, COMMUTATOR = OPERATOR(@extschema@.<+>)
);
