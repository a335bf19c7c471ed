
-- ---------------------------------------------------------------------------
-- Casts. Contexts follow pgvector's so that the same statements work:
-- arrays -> vector/halfvec on assignment (INSERT ... VALUES ('{1,2,3}'::real[])),
-- vector -> halfvec implicitly, halfvec -> vector on assignment.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.array_to_vector(integer[], integer, boolean) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_vector(real[], integer, boolean) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_vector(double precision[], integer, boolean) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_vector(numeric[], integer, boolean) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_array_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vector_to_float4(@extschema@.vector, integer, boolean) RETURNS real[]
    AS 'MODULE_PATHNAME', 'vecdb_vector_to_float4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_halfvec(integer[], integer, boolean) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_array_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_halfvec(real[], integer, boolean) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_array_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_halfvec(double precision[], integer, boolean) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_array_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.array_to_halfvec(numeric[], integer, boolean) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_array_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_to_float4(@extschema@.halfvec, integer, boolean) RETURNS real[]
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_to_float4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_to_halfvec(@extschema@.vector, integer, boolean) RETURNS @extschema@.halfvec
    AS 'MODULE_PATHNAME', 'vecdb_vector_to_halfvec' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.halfvec_to_vector(@extschema@.halfvec, integer, boolean) RETURNS @extschema@.vector
    AS 'MODULE_PATHNAME', 'vecdb_halfvec_to_vector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (integer[] AS @extschema@.vector)
    WITH FUNCTION @extschema@.array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS @extschema@.vector)
    WITH FUNCTION @extschema@.array_to_vector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS @extschema@.vector)
    WITH FUNCTION @extschema@.array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS @extschema@.vector)
    WITH FUNCTION @extschema@.array_to_vector(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.vector AS real[])
    WITH FUNCTION @extschema@.vector_to_float4(@extschema@.vector, integer, boolean) AS IMPLICIT;

CREATE CAST (integer[] AS @extschema@.halfvec)
    WITH FUNCTION @extschema@.array_to_halfvec(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS @extschema@.halfvec)
    WITH FUNCTION @extschema@.array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS @extschema@.halfvec)
    WITH FUNCTION @extschema@.array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS @extschema@.halfvec)
    WITH FUNCTION @extschema@.array_to_halfvec(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.halfvec AS real[])
    WITH FUNCTION @extschema@.halfvec_to_float4(@extschema@.halfvec, integer, boolean) AS ASSIGNMENT;

CREATE CAST (@extschema@.vector AS @extschema@.halfvec)
    WITH FUNCTION @extschema@.vector_to_halfvec(@extschema@.vector, integer, boolean) AS IMPLICIT;
CREATE CAST (@extschema@.halfvec AS @extschema@.vector)
    WITH FUNCTION @extschema@.halfvec_to_vector(@extschema@.halfvec, integer, boolean) AS ASSIGNMENT;
