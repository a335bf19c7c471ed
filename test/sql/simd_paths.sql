-- Every SIMD path of the distance kernels gives the same answers through SQL.
-- Distances are computed under each path this CPU runs (vecdb.simd_path =
-- scalar, avx2, avx512) and compared with the scalar path's. Odd dimensions
-- exercise the masked / partial tails. Printed values come from the scalar
-- path only, rounded, so this file does not depend on the CPU; the one line
-- that does (which paths ran) has alternative expected files
-- simd_paths_1.out (no AVX-512) and simd_paths_2.out (scalar only).
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

-- Switch path if this CPU/OS can run it; stay put otherwise.
CREATE FUNCTION pg_temp.try_simd_path(p text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('vecdb.simd_path', p, false);
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;
END $$;

-- Deterministic vectors of dimension 1, 17, 100 and 1000 (all tail lengths
-- differ modulo 8 and 16), plus a zero vector for the cosine NaN case.
CREATE TABLE simd_cases AS
SELECT d, k,
       (SELECT array_agg(round((sin(i * 0.37 + d + k))::numeric, 4)::real ORDER BY i)
          FROM generate_series(1, d) i)::vector AS a,
       (SELECT array_agg(round((cos(i * 1.13 - d) * 3)::numeric, 4)::real ORDER BY i)
          FROM generate_series(1, d) i)::vector AS b
  FROM unnest(ARRAY[1, 17, 100, 1000]) d, generate_series(1, 2) k;
INSERT INTO simd_cases
SELECT 17, 3, array_fill(0::real, ARRAY[17])::vector, b FROM simd_cases WHERE d = 17 AND k = 1;

CREATE TABLE simd_results (path text, kind text, d int, k int, l2 float8, ip float8, cos float8, l1 float8);

CREATE FUNCTION pg_temp.collect() RETURNS void LANGUAGE sql AS $$
    INSERT INTO simd_results
    SELECT vecdb_simd_path(), 'vector', d, k, a <-> b, a <#> b, a <=> b, a <+> b FROM simd_cases;
    INSERT INTO simd_results
    SELECT vecdb_simd_path(), 'halfvec', d, k, a::halfvec <-> b::halfvec, a::halfvec <#> b::halfvec,
           a::halfvec <=> b::halfvec, a::halfvec <+> b::halfvec FROM simd_cases;
$$;

SET vecdb.simd_path = scalar;
SELECT vecdb_simd_path();
SELECT pg_temp.collect();
SELECT pg_temp.try_simd_path('avx2');
SELECT pg_temp.collect();
SELECT pg_temp.try_simd_path('avx512');
SELECT pg_temp.collect();
RESET vecdb.simd_path;

-- Which paths ran (CPU-dependent: see the alternative expected files).
SELECT string_agg(DISTINCT path, ', ' ORDER BY path) AS paths_run FROM simd_results;

-- The scalar path's values, rounded.
SELECT kind, d, k, round(l2::numeric, 3) AS l2, round(ip::numeric, 3) AS neg_ip,
       round(cos::numeric, 5) AS cos, round(l1::numeric, 3) AS l1
  FROM simd_results WHERE path = 'scalar' ORDER BY kind DESC, d, k;

-- Every other path agrees with scalar to float32 accuracy (relative 1e-5 of
-- the magnitude, NaN = NaN in SQL). Any disagreement is listed.
SELECT r.path, r.kind, r.d, r.k, r.l2, s.l2, r.ip, s.ip, r.cos, s.cos, r.l1, s.l1
  FROM simd_results r JOIN simd_results s USING (kind, d, k)
 WHERE s.path = 'scalar' AND r.path <> 'scalar'
   AND NOT (abs(r.l2 - s.l2) <= 1e-5 * greatest(1, abs(s.l2))
        AND abs(r.ip - s.ip) <= 1e-5 * greatest(1, abs(s.ip), 3 * r.d)  -- |a_i b_i| <= 3
        AND (abs(r.cos - s.cos) <= 1e-5 OR (r.cos = 'NaN' AND s.cos = 'NaN'))
        AND abs(r.l1 - s.l1) <= 1e-5 * greatest(1, abs(s.l1)));

-- Each path computed every case.
SELECT count(*) = (SELECT count(DISTINCT path) FROM simd_results) * 2 * (SELECT count(*) FROM simd_cases)
       AS complete
  FROM simd_results;
