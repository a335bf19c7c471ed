-- vector: text format, typmods, binary format, error cases.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

-- Text input: whitespace around elements and brackets, signs, exponents.
SELECT '[1,2,3]'::vector;
SELECT '  [ 1 , -2.5 ,+3e2 ]  '::vector;
SELECT (E'\t[\n1,\r2\f,3' || chr(11) || E']\n')::vector;
SELECT '[-0, 0.0, .5, 5.]'::vector;
SELECT '[1e-40, 3.4028235e38, -3.4028235e38, 1.17549435e-38]'::vector;
-- Output is the shortest text that reads back to the same float.
SELECT '[0.1, 0.30000001192092896, 1.0000001, 123456789, 1e20, 16777217]'::vector;
SELECT '[3.14159265358979]'::vector::text;

-- Malformed text: 22P02 with the position.
\set VERBOSITY default
SELECT '1,2,3'::vector;
SELECT '[1,2,3'::vector;
SELECT '[1,,3]'::vector;
SELECT '[1 2]'::vector;
SELECT '[1,2]x'::vector;
SELECT '[0x10]'::vector;
SELECT '[1e]'::vector;
SELECT '[+-1]'::vector;
SELECT '[1,2,]'::vector;
SELECT ''::vector;
\set VERBOSITY sqlstate
-- Empty vector, NaN, infinities: 22023.
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT '[NaN]'::vector;
SELECT '[1,nan]'::vector;
SELECT '[Infinity]'::vector;
SELECT '[-inf]'::vector;
-- Out of float32 range: 22003.
SELECT '[1e39]'::vector;
SELECT '[-3.5e38]'::vector;
SELECT '[1e-50]'::vector;
\set VERBOSITY default
SELECT '[1,2,1e39]'::vector;
\set VERBOSITY sqlstate

-- Dimension limit: 16000 is fine, 16001 is 54000.
SELECT length(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector::text);
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector;
-- Past the limit the count is the first problem, even if the text is bad later.
SELECT ('[' || array_to_string(array_fill(1, ARRAY[20000]), ',') || ',x]')::vector;

-- Typmods.
SELECT '[1,2,3]'::vector(3);
SELECT '[1,2]'::vector(3);
SELECT '[1,2,3]'::vector(2);
SELECT '[1]'::vector(0);
SELECT '[1]'::vector(16001);
SELECT '[1]'::vector(3, 4);
\set VERBOSITY default
SELECT '[1,2]'::vector(3);
SELECT '[1]'::vector(0);
SELECT '[1]'::vector(16001);
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector;
SELECT '[]'::vector;
SELECT '[1,NaN]'::vector;
\set VERBOSITY sqlstate
CREATE TABLE vt (id int, v vector(3));
\d vt
INSERT INTO vt VALUES (1, '[1,2,3]');
INSERT INTO vt VALUES (2, '[1,2]');
INSERT INTO vt VALUES (3, '[1,2,3,4]'::vector);
INSERT INTO vt VALUES (4, NULL);
UPDATE vt SET v = '[1,2]'::vector WHERE id = 1;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'vt'::regclass AND attname = 'v';
SELECT '[1,2]'::vector::vector(3);
SELECT '[1,2,3]'::vector::vector(3);
SELECT * FROM vt ORDER BY id;

-- Binary format: int16 dim, int16 unused, big-endian float32.
SELECT vector_send('[1,-2,0.5]');
SELECT vector_send('[1e-40]'), vector_send('[-0]');
SELECT vector_recv IS NOT NULL FROM (SELECT 'vector_recv'::regproc AS vector_recv) s;
-- COPY BINARY round trip, including typmod enforcement on the way in.
CREATE TABLE vb (v vector);
INSERT INTO vb VALUES ('[1,2,3]'), ('[-0,1e-40,3.4028235e38]'), ('[0.1]');
COPY vb TO '/tmp/vecdb_vector_io.bin' (FORMAT binary);
CREATE TABLE vb2 (v vector);
COPY vb2 FROM '/tmp/vecdb_vector_io.bin' (FORMAT binary);
SELECT a.v::text = b.v::text AS same FROM (SELECT v, row_number() OVER () FROM vb) a
    JOIN (SELECT v, row_number() OVER () FROM vb2) b USING (row_number);
CREATE TABLE vb3 (v vector(3));
COPY vb3 FROM '/tmp/vecdb_vector_io.bin' (FORMAT binary);

-- Hostile binary input. Each file holds one row of one bytea-built field:
-- PGCOPY header, int16 field count, int32 length, payload, trailer.
CREATE FUNCTION pg_temp.copy_file(payload bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
        || '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea
$$;
CREATE FUNCTION pg_temp.try_recv(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    lo oid;
BEGIN
    -- Large objects write raw bytes to a server file.
    lo := lo_from_bytea(0, pg_temp.copy_file(payload));
    PERFORM lo_export(lo, '/tmp/vecdb_hostile.bin');
    PERFORM lo_unlink(lo);
    TRUNCATE vb2;
    COPY vb2 FROM '/tmp/vecdb_hostile.bin' (FORMAT binary);
    SELECT v::text INTO r FROM vb2;
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.try_recv('\x000200003f80000040000000');          -- good: [1,2]
SELECT pg_temp.try_recv('\x000000003f800000');                  -- dim 0
SELECT pg_temp.try_recv('\xffff00003f800000');                  -- dim -1
SELECT pg_temp.try_recv('\x3e8100003f800000');                  -- dim 16001
SELECT pg_temp.try_recv('\x000100013f800000');                  -- unused != 0
SELECT pg_temp.try_recv('\x000200003f800000');                  -- payload too short
SELECT pg_temp.try_recv('\x000100003f80000040000000');          -- payload too long
SELECT pg_temp.try_recv('\x0001');                              -- truncated header
SELECT pg_temp.try_recv('\x000100007fc00000');                  -- NaN
SELECT pg_temp.try_recv('\x000100007f800000');                  -- +Inf
SELECT pg_temp.try_recv('\x00010000ff800000');                  -- -Inf
SELECT pg_temp.try_recv('\x7fff00003f800000');                  -- dim 32767, tiny payload
DROP TABLE vt, vb, vb2, vb3;
