
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

-- Functions ------------------------------------------------------------------

CREATE FUNCTION @extschema@.vector_dims(@extschema@.vector) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_norm(@extschema@.vector) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_vector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l2_normalize(@extschema@.vector) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.binary_quantize(@extschema@.vector) RETURNS bit
    AS 'MODULE_PATHNAME', 'vecdb_vector_binary_quantize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.subvector(@extschema@.vector, integer, integer) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Element-wise arithmetic and concatenation ----------------------------------

CREATE FUNCTION @extschema@.vector_add(@extschema@.vector, @extschema@.vector) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_sub(@extschema@.vector, @extschema@.vector) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_mul(@extschema@.vector, @extschema@.vector) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_mul' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_concat(@extschema@.vector, @extschema@.vector) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_concat' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.+ (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.vector_add, COMMUTATOR = OPERATOR(@extschema@.+)
);
CREATE OPERATOR @extschema@.- (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.vector_sub
);
CREATE OPERATOR @extschema@.* (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.vector_mul, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.|| (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
    FUNCTION = @extschema@.vector_concat
);

-- Comparison: lexicographic by element, then by dimension --------------------

CREATE FUNCTION @extschema@.vector_lt(@extschema@.vector, @extschema@.vector) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_vector_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_le(@extschema@.vector, @extschema@.vector) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_vector_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_eq(@extschema@.vector, @extschema@.vector) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_vector_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_ne(@extschema@.vector, @extschema@.vector) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_vector_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_ge(@extschema@.vector, @extschema@.vector) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_vector_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_gt(@extschema@.vector, @extschema@.vector) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_vector_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_cmp(@extschema@.vector, @extschema@.vector) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_vector_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_hash(@extschema@.vector) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_vector_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector, FUNCTION = @extschema@.vector_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector, FUNCTION = @extschema@.vector_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector, FUNCTION = @extschema@.vector_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector, FUNCTION = @extschema@.vector_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector, FUNCTION = @extschema@.vector_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector, FUNCTION = @extschema@.vector_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS @extschema@.vector_ops
    DEFAULT FOR TYPE @extschema@.vector USING btree AS
    OPERATOR 1 @extschema@.< ,
    OPERATOR 2 @extschema@.<= ,
    OPERATOR 3 @extschema@.= ,
    OPERATOR 4 @extschema@.>= ,
    OPERATOR 5 @extschema@.> ,
    FUNCTION 1 @extschema@.vector_cmp(@extschema@.vector, @extschema@.vector);

CREATE OPERATOR CLASS @extschema@.vector_ops
    DEFAULT FOR TYPE @extschema@.vector USING hash AS
    OPERATOR 1 @extschema@.= ,
    FUNCTION 1 @extschema@.vector_hash(@extschema@.vector);
