# Merge lanes (include/vecdb/pg/hnsw_pending.h): the background worker and
# every insert under back-pressure link pending rows into the graph at once,
# one merger per lane. Two linkers race like concurrent direct inserts: a
# re-selection can drop the other's new node, or rewrite its list, before that
# node's own list carries the edges that keep others reachable. The
# being-linked marks rule this out. The workload is the hard case of
# hnsw_reach (inner product on vectors whose norms differ 50-fold, m = 4: full
# lists are re-selected all the time) fed by four sessions through a small
# pending list; without the marks it left a live node unreachable in about
# one run of three (100,000 rows; 2 of 6 runs), so this test catches a
# regression of the marks with that probability per run. Checks: several
# lanes merged at once, the list drains by itself, no live node is
# unreachable, and the checker finds nothing else.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VecdbTest;

my $rows = 100_000;
my $sessions = 4;
my $node = PostgreSQL::Test::Cluster->new('merge_lanes');
$node->init;
$node->append_conf('postgresql.conf', "checkpoint_timeout = 1h\nmax_wal_size = 2GB\nautovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
CREATE FUNCTION reach_vec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((x - floor(x) - 0.5) * exp(4 * (sin(i * 3.7) * 0.5 + 0.5) - 3))::real[]::vector
  FROM (SELECT sin(i * 12.9898 + j * 78.233) * 43758.5453 AS x FROM generate_series(1, 16) j) s $$;
CREATE TABLE reach (id int PRIMARY KEY, v vector(16));
CREATE INDEX reach_ip ON reach USING hnsw (v vector_ip_ops) WITH (m = 4, ef_construction = 16, pending_list_limit = 64);
});

my @h;
my $batches = $rows / 100;
for my $s (0 .. $sessions - 1) {
    my $sql = '';
    for (my $b = $s; $b < $batches; $b += $sessions) {
        my $from = $b * 100 + 1;
        $sql .= "INSERT INTO reach SELECT i, reach_vec(i) FROM generate_series($from, " . ($from + 99) . ") i;\n";
    }
    my ($hh) = background_psql_file($node, $sql);
    push @h, $hh;
}
my ($most_mergers, $saw_worker) = (0, 0);
for (1 .. 30000) {
    # Sessions under back-pressure hold a lane (a page lock on block 0..3
    # of the index) while they merge.
    my ($lanes, $workers) = split /\|/, $node->safe_psql('postgres', q{
        SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'page' AND page < 4 AND granted
                  AND relation = 'reach_ip'::regclass),
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vecdb hnsw merge')});
    $most_mergers = $lanes if $lanes > $most_mergers;
    $saw_worker ||= $workers > 0;
    last unless grep { $_->pumpable } @h;
    usleep(20_000);
}
$_->finish for @h;
is($node->safe_psql('postgres', 'SELECT count(*) FROM reach'), $rows, "all $rows rows committed");
note("most lanes held at once: $most_mergers");
cmp_ok($most_mergers, '>=', 2, 'two or more mergers linked rows at the same time');
for (1 .. 9000) {
    last if $node->safe_psql('postgres', q{SELECT vecdb_hnsw_pending_count('reach_ip')}) eq '0';
    usleep(20_000);
}
is($node->safe_psql('postgres', q{SELECT vecdb_hnsw_pending_count('reach_ip')}), '0',
   'the pending list drained by itself');
ok($saw_worker, 'a background merge worker was seen at work');
is($node->safe_psql('postgres',
    q{SELECT count(*) FROM vecdb_index_check('reach_ip', raise_error => false) WHERE kind = 'unreachable'}),
   '0', 'no live node is unreachable');
check_index_ok($node, 'postgres', 'reach_ip', 'the checker finds no problem');
$node->stop;
done_testing();
