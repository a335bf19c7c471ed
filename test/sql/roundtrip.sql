-- Randomized round trips of a few thousand vectors and halfvecs through the
-- text format and through COPY ... (FORMAT binary). Equality is checked on
-- the binary representation (bit-exact, so -0 and 0 differ).
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never
SELECT setseed(0.4242);

CREATE TABLE rt (id int PRIMARY KEY, v vector, h halfvec);
-- Random dimensions 1..96; magnitudes spread over 1e-30 .. 1e30 for vector
-- and over the whole float16 range (subnormals included) for halfvec.
INSERT INTO rt
SELECT id,
       (SELECT array_agg(((random() - 0.5) * 10 ^ (floor(random() * 61) - 30))::real)
        FROM generate_series(1, d) WHERE id > 0)::vector,
       (SELECT array_agg(((random() - 0.5) * 2 ^ (floor(random() * 40) - 24))::real)
        FROM generate_series(1, d) WHERE id > 0)::halfvec
FROM (SELECT id, 1 + floor(random() * 96)::int AS d FROM generate_series(1, 3000) id) s;
INSERT INTO rt VALUES (3001, '[-0,0,1e-45,-1e-45,3.4028235e38,-3.4028235e38,1.1754942e-38]',
                             '[-0,0,6e-8,-6e-8,65504,-65504,6.1e-5,6.097e-5]');
SELECT count(*), min(vector_dims(v)), max(vector_dims(v)) FROM rt;

-- Text: value -> text -> value is the identity.
SELECT count(*) AS text_mismatches FROM rt
WHERE vector_send(v::text::vector) <> vector_send(v) OR halfvec_send(h::text::halfvec) <> halfvec_send(h);

-- Binary: COPY out and back in.
COPY rt TO '/tmp/vecdb_roundtrip.bin' (FORMAT binary);
CREATE TABLE rt2 (LIKE rt);
COPY rt2 FROM '/tmp/vecdb_roundtrip.bin' (FORMAT binary);
SELECT count(*) AS rows_back,
       count(*) FILTER (WHERE vector_send(a.v) <> vector_send(b.v)) AS vector_mismatches,
       count(*) FILTER (WHERE halfvec_send(a.h) <> halfvec_send(b.h)) AS halfvec_mismatches
FROM rt a JOIN rt2 b USING (id);

-- Text COPY too (what pg_dump uses by default).
COPY rt TO '/tmp/vecdb_roundtrip.txt';
TRUNCATE rt2;
COPY rt2 FROM '/tmp/vecdb_roundtrip.txt';
SELECT count(*) AS rows_back,
       count(*) FILTER (WHERE vector_send(a.v) <> vector_send(b.v)) AS vector_mismatches,
       count(*) FILTER (WHERE halfvec_send(a.h) <> halfvec_send(b.h)) AS halfvec_mismatches
FROM rt a JOIN rt2 b USING (id);

-- Into typmod'd columns: every row has the wrong dimension for vector(97).
CREATE TABLE rt3 (id int, v vector(97), h halfvec);
COPY rt3 FROM '/tmp/vecdb_roundtrip.bin' (FORMAT binary);
DROP TABLE rt, rt2, rt3;
