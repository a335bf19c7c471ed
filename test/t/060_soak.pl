# Bounded soak test: pgbench with 8 clients runs a fixed number of mixed
# transactions (inserts, updates, deletes, nearest-neighbour searches)
# against a table with hnsw indexes while autovacuum runs aggressively.
# Phase 0 starts from an empty index (8 clients race for the entry point).
# After each phase: no client error, vecdb_index_check finds no problem, and
# recall@10 (index against exact) is as good as before the soak.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $dim = 16;
my $node = PostgreSQL::Test::Cluster->new('soak');
$node->init;
$node->append_conf('postgresql.conf', q{
autovacuum_naptime = 1s
autovacuum_vacuum_scale_factor = 0.02
autovacuum_vacuum_insert_scale_factor = 0.05
autovacuum_vacuum_cost_delay = 0
max_connections = 30
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dim), h halfvec($dim))");
$node->safe_psql('postgres', 'CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'CREATE INDEX items_h ON items USING hnsw (h halfvec_cosine_ops) WITH (m = 8, ef_construction = 32)');

my $v = sub { vec_sql($_[0], $dim) };
my $h = sub { half_sql($_[0], $dim) };
my $transactions = 0;
sub soak {
    my ($label, $per_client, $scripts) = @_;
    $node->pgbench("--no-vacuum --client=8 --jobs=2 --transactions=$per_client --random-seed=4242", 0,
        [ qr{processed: @{[8 * $per_client]}/@{[8 * $per_client]}} ], [ qr{^(?!.*(ERROR|FATAL|aborted))}s ],
        "$label: 8 clients x $per_client transactions without an error", $scripts, 'postgres');
    $transactions += 8 * $per_client;
}

# Phase 0: 8 clients insert into the empty index at once.
soak('empty index', 60, {
    'soak_insert0' => "\\set id random(1, 2000000)\n"
        . "INSERT INTO items VALUES (:id, " . $v->(':id') . ", " . $h->(':id') . ") ON CONFLICT DO NOTHING;\n" });
check_all_indexes_ok($node, 'postgres', 'after concurrent inserts into an empty index');
my ($n, $missed) = exact_match_ok($node, 'postgres', 'items', 'v', '<->', 'true', 'items_v', 'after concurrent first inserts');

# A base of rows, then the recall reference.
$node->safe_psql('postgres', "INSERT INTO items SELECT i, " . $v->('i') . ", " . $h->('i')
    . " FROM generate_series(3000001, 3006000) i ON CONFLICT DO NOTHING");
$node->safe_psql('postgres', 'VACUUM ANALYZE items');
sub recall {
    my $r = $node->safe_psql('postgres', "SET hnsw.ef_search = 64; SELECT avg(hits) FROM (
        SELECT (SELECT count(*) FROM
                  (SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) a JOIN
                  (SELECT id FROM items ORDER BY (v <-> q.v) + 0 LIMIT 10) e USING (id)) AS hits
        FROM (SELECT " . $v->('g + 8000000') . " AS v FROM generate_series(1, 60) g) q) s");
    return $r / 10;
}
# (The second subquery cannot use the index: its ORDER BY expression is not
#  column <-> value, so it is the exact answer.)
my $recall_before = recall();
note("recall\@10 before the soak: $recall_before");

my %mixed = (
    'soak_insert@4' => "\\set id random(4000000, 9000000)\n"
        . "INSERT INTO items VALUES (:id, " . $v->(':id') . ", " . $h->(':id') . ") ON CONFLICT DO NOTHING;\n",
    'soak_update@3' => "\\set id random(3000001, 3006000)\n"
        . "UPDATE items SET v = " . $v->(':id + 100000000') . ", h = " . $h->(':id + 100000000') . " WHERE id = :id;\n",
    'soak_delete@1' => "\\set id random(3000001, 3006000)\nDELETE FROM items WHERE id = :id;\n",
    'soak_search@6' => "\\set q random(1, 1000000)\nSET enable_seqscan = off;\n"
        . "SELECT id FROM items ORDER BY v <-> " . $v->(':q') . " LIMIT 10;\n"
        . "SELECT id FROM items ORDER BY h <=> " . $h->(':q') . " LIMIT 10;\n",
    'soak_mixed_tx@2' => "\\set id random(3000001, 3006000)\nBEGIN;\n"
        . "DELETE FROM items WHERE id = :id;\n"
        . "INSERT INTO items VALUES (:id + 200000000, " . $v->(':id') . ", " . $h->(':id') . ") ON CONFLICT DO NOTHING;\n"
        . "SELECT id FROM items ORDER BY v <-> " . $v->(':id') . " LIMIT 5;\nCOMMIT;\n",
);
for my $round (1 .. 2) {
    # (pgbench script files get a fresh name per round.)
    my %scripts = map { my $k = $_; (s/^soak_/soak${round}_/r => $mixed{$k}) } keys %mixed;
    soak("mixed round $round", 300, \%scripts);
    check_all_indexes_ok($node, 'postgres', "after mixed round $round");
}
# The rounds are short (about a second each), so autovacuum may reach the
# table only after them: wait for it before the manual VACUUM, so that its
# pass over the hnsw indexes is always part of the test.
ok($node->poll_query_until('postgres',
        "SELECT autovacuum_count > 0 FROM pg_stat_user_tables WHERE relname = 'items'"),
   'autovacuum vacuumed the table (hnsw indexes included) during or right after the mixed rounds');
$node->safe_psql('postgres', 'VACUUM items');
check_all_indexes_ok($node, 'postgres', 'after the final VACUUM');
my $recall_after = recall();
note("recall\@10 after the soak: $recall_after ($transactions transactions)");
cmp_ok($recall_after, '>=', $recall_before - 0.05, "recall\@10 within 0.05 of its value before the soak ($recall_before -> $recall_after)");
cmp_ok($recall_after, '>=', $recall_before - 0.01, 'recall@10 unchanged by the soak (within 0.01)');
($n, $missed) = exact_match_ok($node, 'postgres', 'items', 'v', '<->', 'q.id % 7 = 0', 'items_v', 'after the soak');
ok(!$node->log_contains('TRAP|terminated by signal|PANIC'), 'no backend crashed');

$node->stop;
done_testing();
