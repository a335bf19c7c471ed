-- hnsw planner cost on long vectors: a sequential scan is priced per row as
-- if the vector were short (the planner knows neither its length nor the
-- TOAST fetch of every 3 KB vector), so pricing the index by page touches
-- sent high-ef_search queries to a 100x slower sequential scan (fashion-mnist,
-- 784 dims, ef_search 640). The index must win there, and still lose on a
-- tiny table.
SELECT setseed(0.5);
CREATE TABLE p784 (id int, v vector(784));
INSERT INTO p784 SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 784 + 0 * i))::vector
FROM generate_series(1, 2000) i;
CREATE INDEX p784_idx ON p784 USING hnsw (v vector_l2_ops);
ANALYZE p784;
PREPARE knn(vector) AS SELECT id FROM p784 ORDER BY v <-> $1 LIMIT 10;
SET plan_cache_mode = force_generic_plan;
SET hnsw.ef_search = 40;
EXPLAIN (COSTS OFF) EXECUTE knn(NULL);
SET hnsw.ef_search = 640;
EXPLAIN (COSTS OFF) EXECUTE knn(NULL);
SET hnsw.ef_search = 1000;
EXPLAIN (COSTS OFF) EXECUTE knn(NULL);
-- The same with a literal query vector (custom plan).
EXPLAIN (COSTS OFF) SELECT id FROM p784 ORDER BY v <-> (SELECT v FROM p784 WHERE id = 1) LIMIT 10;
-- halfvec (1,568-byte vectors, stored inline: a sequential-scan row costs
-- far less; at this size a search at ef_search >= 150 scores every row and
-- ties with the sequential scan, measured 0.79 vs 0.84 ms).
SET hnsw.ef_search = 40;
ALTER TABLE p784 ADD COLUMN h halfvec(784);
UPDATE p784 SET h = v::halfvec;
CREATE INDEX p784_h ON p784 USING hnsw (h halfvec_l2_ops);
ANALYZE p784;
EXPLAIN (COSTS OFF) SELECT id FROM p784 ORDER BY h <-> (SELECT h FROM p784 WHERE id = 1) LIMIT 10;
-- A tiny table: the sequential scan is cheaper.
CREATE TABLE tiny784 (id int, v vector(784));
INSERT INTO tiny784 SELECT id, v FROM p784 WHERE id <= 3;
CREATE INDEX ON tiny784 USING hnsw (v vector_l2_ops);
ANALYZE tiny784;
EXPLAIN (COSTS OFF) SELECT id FROM tiny784 ORDER BY v <-> (SELECT v FROM p784 WHERE id = 1) LIMIT 1;
RESET plan_cache_mode;
RESET hnsw.ef_search;
DEALLOCATE knn;
DROP TABLE p784, tiny784;
