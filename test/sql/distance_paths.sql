-- Every distance function of vector and halfvec on every SIMD path this CPU
-- runs (vecdb.simd_path), against a float8 reference computed in SQL. The
-- output does not depend on which paths exist: it reports failures only.
SELECT setseed(0.77);
CREATE TABLE dp (id int, a real[], b real[]);
INSERT INTO dp
SELECT id, (SELECT array_agg((random() * 2 - 1)::real) FROM generate_series(1, d) WHERE id > 0),
           (SELECT array_agg((random() * 2 - 1)::real) FROM generate_series(1, d) WHERE id > 0)
FROM (SELECT id, 1 + (id * 37) % 700 AS d FROM generate_series(1, 300) id) s;
-- halfvec inputs: the same arrays rounded to float16 first, so the reference
-- sees exactly the values the kernels see.
CREATE TABLE dp_ref AS
SELECT id, a::vector AS va, b::vector AS vb, a::halfvec AS ha, b::halfvec AS hb,
       r.l2, r.ip, r.l1, r.na, r.nb, rh.l2 AS hl2, rh.ip AS hip, rh.l1 AS hl1, rh.na AS hna, rh.nb AS hnb
FROM dp,
LATERAL (SELECT sqrt(sum((x::float8 - y) ^ 2)) AS l2, sum(x::float8 * y) AS ip, sum(abs(x::float8 - y)) AS l1,
                sqrt(sum(x::float8 * x)) AS na, sqrt(sum(y::float8 * y)) AS nb
         FROM unnest(a, b) u(x, y)) r,
LATERAL (SELECT sqrt(sum((x::float8 - y) ^ 2)) AS l2, sum(x::float8 * y) AS ip, sum(abs(x::float8 - y)) AS l1,
                sqrt(sum(x::float8 * x)) AS na, sqrt(sum(y::float8 * y)) AS nb
         FROM unnest(a::halfvec::real[], b::halfvec::real[]) u(x, y)) rh;

CREATE TEMP TABLE path_results (path text, failures bigint);
DO $$
DECLARE
    p text;
BEGIN
    FOREACH p IN ARRAY ARRAY['scalar', 'avx2', 'avx512'] LOOP
        BEGIN
            PERFORM set_config('vecdb.simd_path', p, true);
        EXCEPTION WHEN invalid_parameter_value THEN
            CONTINUE;  -- this CPU cannot run that path
        END;
        INSERT INTO path_results
        SELECT p, count(*) FILTER (WHERE NOT (
                   abs((va <-> vb) - l2) <= 1e-4 * l2 + 1e-5
               AND abs(vector_l2_squared_distance(va, vb) - l2 * l2) <= 2e-4 * l2 * l2 + 1e-5
               AND abs(inner_product(va, vb) - ip) <= 1e-5 * na * nb + 1e-6
               AND abs((va <#> vb) + ip) <= 1e-5 * na * nb + 1e-6
               AND abs((va <=> vb) - (1 - ip / (na * nb))) <= 1e-4
               AND abs((va <+> vb) - l1) <= 1e-5 * l1 + 1e-5
               AND abs((ha <-> hb) - hl2) <= 1e-4 * hl2 + 1e-5
               AND abs(halfvec_l2_squared_distance(ha, hb) - hl2 * hl2) <= 2e-4 * hl2 * hl2 + 1e-5
               AND abs(inner_product(ha, hb) - hip) <= 1e-5 * hna * hnb + 1e-6
               AND abs((ha <#> hb) + hip) <= 1e-5 * hna * hnb + 1e-6
               AND abs((ha <=> hb) - (1 - hip / (hna * hnb))) <= 1e-4
               AND abs((ha <+> hb) - hl1) <= 1e-5 * hl1 + 1e-5))
        FROM dp_ref;
    END LOOP;
END $$;
SELECT bool_or(path = 'scalar') AS scalar_ran, sum(failures) AS failures FROM path_results;
SELECT path, failures FROM path_results WHERE failures > 0;
DROP TABLE dp, dp_ref;
