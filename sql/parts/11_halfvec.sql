
-- ---------------------------------------------------------------------------
-- halfvec: IEEE float16 elements, up to 16000 dimensions; typmod = dimensions.
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.halfvec;

CREATE FUNCTION @extschema@.halfvec_in(cstring, oid, integer) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_out(@extschema@.halfvec) RETURNS cstring
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_typmod_out(integer) RETURNS cstring
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_typmod_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_recv(internal, oid, integer) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_send(@extschema@.halfvec) RETURNS bytea
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.halfvec (
    INPUT      = @extschema@.halfvec_in,
    OUTPUT     = @extschema@.halfvec_out,
    TYPMOD_IN  = @extschema@.halfvec_typmod_in,
    TYPMOD_OUT = @extschema@.halfvec_typmod_out,
    RECEIVE    = @extschema@.halfvec_recv,
    SEND       = @extschema@.halfvec_send,
    STORAGE    = external
);

-- Length coercion: enforces halfvec(n) on INSERT/UPDATE and on casts.
CREATE FUNCTION @extschema@.halfvec(@extschema@.halfvec, integer, boolean) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (@extschema@.halfvec AS @extschema@.halfvec)
    WITH FUNCTION @extschema@.halfvec(@extschema@.halfvec, integer, boolean) AS IMPLICIT;

-- Distances (float8) ---------------------------------------------------------

CREATE FUNCTION @extschema@.l2_distance(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.inner_product(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.cosine_distance(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l1_distance(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Support functions of the index opclasses.
CREATE FUNCTION @extschema@.halfvec_l2_squared_distance(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_l2_squared_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_negative_inner_product(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_spherical_distance(@extschema@.halfvec, @extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_spherical_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.<-> (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.l2_distance, COMMUTATOR = OPERATOR(@extschema@.<->)
);
CREATE OPERATOR @extschema@.<#> (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.halfvec_negative_inner_product, COMMUTATOR = OPERATOR(@extschema@.<#>)
);
CREATE OPERATOR @extschema@.<=> (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.cosine_distance, COMMUTATOR = OPERATOR(@extschema@.<=>)
);
CREATE OPERATOR @extschema@.<+> (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.l1_distance, COMMUTATOR = OPERATOR(@extschema@.<+>)
);

-- Functions ------------------------------------------------------------------

CREATE FUNCTION @extschema@.vector_dims(@extschema@.halfvec) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l2_norm(@extschema@.halfvec) RETURNS float8
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.l2_normalize(@extschema@.halfvec) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.binary_quantize(@extschema@.halfvec) RETURNS bit
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_binary_quantize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.subvector(@extschema@.halfvec, integer, integer) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Element-wise arithmetic and concatenation ----------------------------------

CREATE FUNCTION @extschema@.halfvec_add(@extschema@.halfvec, @extschema@.halfvec) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_sub(@extschema@.halfvec, @extschema@.halfvec) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_sub' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_mul(@extschema@.halfvec, @extschema@.halfvec) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_mul' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_concat(@extschema@.halfvec, @extschema@.halfvec) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_concat' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.+ (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.halfvec_add, COMMUTATOR = OPERATOR(@extschema@.+)
);
CREATE OPERATOR @extschema@.- (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.halfvec_sub
);
CREATE OPERATOR @extschema@.* (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.halfvec_mul, COMMUTATOR = OPERATOR(@extschema@.*)
);
CREATE OPERATOR @extschema@.|| (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec,
    FUNCTION = @extschema@.halfvec_concat
);

-- Comparison: lexicographic by element, then by dimension --------------------

CREATE FUNCTION @extschema@.halfvec_lt(@extschema@.halfvec, @extschema@.halfvec) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_le(@extschema@.halfvec, @extschema@.halfvec) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_eq(@extschema@.halfvec, @extschema@.halfvec) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_ne(@extschema@.halfvec, @extschema@.halfvec) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_ge(@extschema@.halfvec, @extschema@.halfvec) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_gt(@extschema@.halfvec, @extschema@.halfvec) RETURNS bool
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_cmp(@extschema@.halfvec, @extschema@.halfvec) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_hash(@extschema@.halfvec) RETURNS integer
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec, FUNCTION = @extschema@.halfvec_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec, FUNCTION = @extschema@.halfvec_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec, FUNCTION = @extschema@.halfvec_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec, FUNCTION = @extschema@.halfvec_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec, FUNCTION = @extschema@.halfvec_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.halfvec, RIGHTARG = @extschema@.halfvec, FUNCTION = @extschema@.halfvec_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS @extschema@.halfvec_ops
    DEFAULT FOR TYPE @extschema@.halfvec USING btree AS
    OPERATOR 1 @extschema@.< ,
    OPERATOR 2 @extschema@.<= ,
    OPERATOR 3 @extschema@.= ,
    OPERATOR 4 @extschema@.>= ,
    OPERATOR 5 @extschema@.> ,
    FUNCTION 1 @extschema@.halfvec_cmp(@extschema@.halfvec, @extschema@.halfvec);

CREATE OPERATOR CLASS @extschema@.halfvec_ops
    DEFAULT FOR TYPE @extschema@.halfvec USING hash AS
    OPERATOR 1 @extschema@.= ,
    FUNCTION 1 @extschema@.halfvec_hash(@extschema@.halfvec);
