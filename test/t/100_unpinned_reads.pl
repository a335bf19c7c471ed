# Scans read neighbours without pinning their buffers (docs/hnsw.md, "Reading
# neighbours without a pin"): a per-backend hint names the shared buffer that
# held each block, and a read counts only if the buffer's descriptor names
# that block before and after it. Here shared_buffers holds a fraction of the
# index, so hints go stale all the time and buffers change hands while other
# sessions search. The search is deterministic, so every query must return
# exactly the rows, and distances, that it returned when the index sat in a
# large cache; distances must come out in order and equal the exact ones.
# A check that trusted a stale hint would score other pages' bytes and fail.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $dim = 32;
my $rows = 20000;
my $node = PostgreSQL::Test::Cluster->new('unpinned_reads');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dim))");
$node->safe_psql('postgres', fill_sql('items', 1, $rows, $dim));
$node->safe_psql('postgres', 'CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops) WITH (m = 8)');
my $index_pages = $node->safe_psql('postgres', "SELECT pg_relation_size('items_hnsw') / 8192");
cmp_ok($index_pages, '>', 400, "index has $index_pages pages");
$node->safe_psql('postgres', "CREATE TABLE probes AS SELECT i, " . vec_sql('i + 1000000', $dim) . " AS v
    FROM generate_series(1, 200) i");

# One line per probe: "id=distance,..." in the order the index scan returns.
my $probe_sql = q{SET enable_seqscan = off; SET enable_sort = off; SET hnsw.ef_search = 40;
    SELECT p.i || ' ' || (SELECT string_agg(s.id || '=' || s.d, ',') FROM
        (SELECT id, v <-> p.v AS d FROM items ORDER BY v <-> p.v LIMIT 10) s) FROM probes p ORDER BY p.i};
my $cached = $node->safe_psql('postgres', $probe_sql);
my @cached = split /\n/, $cached;
is(scalar @cached, 200, 'all probes answered with the index cached');

# 128 buffers for an index several times larger, heap and catalogs included.
$node->append_conf('postgresql.conf', "shared_buffers = 1MB\n");
$node->restart;
my $reads0 = $node->safe_psql('postgres', "SELECT idx_blks_read FROM pg_statio_user_indexes WHERE indexrelname = 'items_hnsw'");

# Two sessions churn the cache with other searches while the probes run.
my $churn = q{SET enable_seqscan = off; SET enable_sort = off;
DO $$
DECLARE q vector; BEGIN
  FOR k IN 1..3000 LOOP
    SELECT v INTO q FROM items WHERE id = (k * 7919) % 20000 + 1;
    PERFORM id FROM items ORDER BY v <-> q LIMIT 10;
  END LOOP;
END $$;
};
my ($h1) = background_psql_file($node, $churn);
my ($h2) = background_psql_file($node, $churn);
my @pressed;
for my $pass (1 .. 3) {
    my @got = split /\n/, $node->safe_psql('postgres', $probe_sql);
    @pressed = @got if $pass == 1;
    my $same = grep { $got[$_] eq $cached[$_] } 0 .. $#cached;
    is($same, scalar @cached, "pass $pass under eviction: every probe returns the cached run's rows and distances")
        or diag(join("\n", map { "cached: $cached[$_]\nnow:    $got[$_]" } grep { $got[$_] ne $cached[$_] } 0 .. 4));
}
$h1->finish;
$h2->finish;
my $reads = $node->safe_psql('postgres', "SELECT idx_blks_read FROM pg_statio_user_indexes WHERE indexrelname = 'items_hnsw'") - $reads0;
cmp_ok($reads, '>', 10 * $index_pages, "the index was read from disk over and over ($reads block reads)");

# Distances in order and exact (the executor computes v <-> p.v itself).
my $bad = 0;
for my $line (@pressed) {
    my ($i, $list) = split / /, $line;
    my @d = map { (split /=/)[1] } split /,/, $list;
    $bad++ if grep { $d[$_] < $d[$_ - 1] } 1 .. $#d;
    $bad++ if @d != 10;
}
is($bad, 0, 'every probe returned 10 rows in distance order');

$node->stop;
done_testing();
