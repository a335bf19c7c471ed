-- The demo that .ci/setup-and-demo runs against a scratch cluster.
-- psql variables: datafile (one '[x,y,...]' vector per line), dim.
\set ON_ERROR_STOP on
\pset pager off
CREATE EXTENSION vecdb;
SELECT extname, extversion FROM pg_extension WHERE extname = 'vecdb';
-- The library loads on first use of a C function; load it now to show its setting.
LOAD 'vecdb';
SHOW vecdb.simd_path;

SELECT to_regtype('vector') IS NOT NULL AS has_vector,
       EXISTS (SELECT 1 FROM pg_am WHERE amname = 'hnsw') AS has_hnsw \gset
\if :has_vector
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(:dim));
COPY items (embedding) FROM :'datafile';
SELECT count(*) AS rows_loaded FROM items;
\if :has_hnsw
CREATE INDEX items_embedding_hnsw ON items USING hnsw (embedding vector_l2_ops);
\else
\echo 'this build has no hnsw access method yet: the query below is an exact scan'
\endif
SELECT embedding AS query FROM items WHERE id = 1 \gset
-- The plan, with the query vector as a parameter (shorter to print).
PREPARE nearest(vector) AS SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE nearest(:'query');
\echo 'the 5 nearest neighbours (L2) of row 1:'
SELECT id, round((embedding <-> :'query')::numeric, 3) AS l2_distance
FROM items ORDER BY embedding <-> :'query' LIMIT 5;
\else
\echo 'vecdb is installed and loads, but this build defines no vector type yet: nothing more to show.'
\endif
