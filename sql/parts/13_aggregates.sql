
-- ---------------------------------------------------------------------------
-- avg() and sum(): float8[] state {count, sums...}, parallel with a combine
-- function (the state needs no serialization).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.vector_accum(double precision[], @extschema@.vector) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'vecdb_vector_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_accum(double precision[], @extschema@.halfvec) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_accum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_combine(double precision[], double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME', 'vecdb_vector_combine' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_avg(double precision[]) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_avg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_sum(double precision[]) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_vector_sum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_avg(double precision[]) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_avg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_sum(double precision[]) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_sum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.avg(@extschema@.vector) (
    SFUNC = @extschema@.vector_accum, STYPE = double precision[], INITCOND = '{0}',
    FINALFUNC = @extschema@.vector_avg, COMBINEFUNC = @extschema@.vector_combine, PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.sum(@extschema@.vector) (
    SFUNC = @extschema@.vector_accum, STYPE = double precision[], INITCOND = '{0}',
    FINALFUNC = @extschema@.vector_sum, COMBINEFUNC = @extschema@.vector_combine, PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.avg(@extschema@.halfvec) (
    SFUNC = @extschema@.halfvec_accum, STYPE = double precision[], INITCOND = '{0}',
    FINALFUNC = @extschema@.halfvec_avg, COMBINEFUNC = @extschema@.vector_combine, PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.sum(@extschema@.halfvec) (
    SFUNC = @extschema@.halfvec_accum, STYPE = double precision[], INITCOND = '{0}',
    FINALFUNC = @extschema@.halfvec_sum, COMBINEFUNC = @extschema@.vector_combine, PARALLEL = SAFE
);
