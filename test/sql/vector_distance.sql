-- vector distances: functions, operators, opclass support functions.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

CREATE TABLE dist_cases (id int, a vector, b vector);
INSERT INTO dist_cases VALUES
    (1, '[1,2,3]', '[4,5,6]'),
    (2, '[1,0]', '[0,1]'),
    (3, '[1,1]', '[-1,-1]'),
    (4, '[3,4]', '[3,4]'),
    (5, '[0,0]', '[1,1]'),
    (6, '[1.5]', '[-2.5]'),
    (7, '[0.6,0.8]', '[0.8,0.6]');

-- Exact small cases (rounded to hide last-bit differences between kernels).
SELECT id,
       round(l2_distance(a, b)::numeric, 5) AS l2,
       round((a <-> b)::numeric, 5) AS l2_op,
       round(inner_product(a, b)::numeric, 5) AS ip,
       round((a <#> b)::numeric, 5) AS neg_ip_op,
       round(cosine_distance(a, b)::numeric, 5) AS cos,
       round((a <=> b)::numeric, 5) AS cos_op,
       round(l1_distance(a, b)::numeric, 5) AS l1,
       round((a <+> b)::numeric, 5) AS l1_op,
       round(vector_l2_squared_distance(a, b)::numeric, 5) AS l2sq,
       round(vector_negative_inner_product(a, b)::numeric, 5) AS neg_ip
FROM dist_cases ORDER BY id;

-- Distances are float8; operators commute.
SELECT pg_typeof('[1]'::vector <-> '[2]'), pg_typeof('[1]'::vector <#> '[2]'),
       pg_typeof('[1]'::vector <=> '[2]'), pg_typeof('[1]'::vector <+> '[2]');
SELECT oprname, oprcom::regoperator FROM pg_operator
WHERE oprleft = 'vector'::regtype AND oprright = 'vector'::regtype AND oprname IN ('<->', '<#>', '<=>', '<+>')
ORDER BY oprname;
SELECT count(*) FROM dist_cases WHERE a <-> b <> b <-> a OR a <#> b <> b <#> a OR a <+> b <> b <+> a;

-- Cosine of a zero vector is NaN (the angle is undefined).
SELECT cosine_distance('[0,0,0]'::vector, '[1,2,3]'), '[0,0]'::vector <=> '[0,0]';
-- Cosine distance stays within [0, 2] even with rounding.
SELECT '[1,1,1]'::vector <=> '[1,1,1]' AS same_dir, '[1,1,1]'::vector <=> '[-1,-1,-1]' AS opposite;

-- Spherical distance: angle / pi for unit vectors, in [0, 1].
SELECT round(vector_spherical_distance('[1,0]', '[0,1]')::numeric, 6) AS quarter,
       round(vector_spherical_distance('[1,0]', '[-1,0]')::numeric, 6) AS half,
       vector_spherical_distance('[1,0]', '[1,0]') AS zero,
       vector_spherical_distance('[2,0]', '[2,0]') AS clamped;

-- Kernels accumulate in float32: near the float32 limit a distance can be
-- Infinity (documented; distances never raise).
SELECT '[3e38]'::vector <-> '[-3e38]' AS l2_beyond_float32;

-- Different dimensions: 22000.
SELECT '[1,2,3]'::vector <-> '[1,2]';
SELECT '[1,2,3]'::vector <#> '[1,2]';
SELECT '[1,2,3]'::vector <=> '[1,2]';
SELECT '[1,2,3]'::vector <+> '[1,2]';
SELECT vector_l2_squared_distance('[1]', '[1,2]');
SELECT vector_negative_inner_product('[1]', '[1,2]');
SELECT vector_spherical_distance('[1]', '[1,2]');
\set VERBOSITY default
SELECT l2_distance('[1,2,3]'::vector, '[1,2]');

-- ORDER BY distance (what an index scan replaces).
SELECT id FROM dist_cases WHERE id BETWEEN 2 AND 5 ORDER BY a <-> '[1,1]', id;
DROP TABLE dist_cases;
