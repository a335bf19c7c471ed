-- SIMD dispatch of the distance kernels.

-- The path in use in this session: 'avx512', 'avx2' or 'scalar'. STABLE, not
-- IMMUTABLE: SET vecdb.simd_path changes it.
CREATE FUNCTION @extschema@.vecdb_simd_path() RETURNS text
    AS 'MODULE_PATHNAME', 'vecdb_simd_path'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.vecdb_simd_path() IS
    'SIMD path of the distance kernels in this session (set vecdb.simd_path to force one)';
