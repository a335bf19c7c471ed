# CREATE INDEX ... USING hnsw reports its progress in
# pg_stat_progress_create_index: another session polls the view while a
# build runs and sees the hnsw phases in order, the tuple total once the
# rows are loaded, and tuple counts that grow towards it (docs/hnsw.md
# "Build"). Polled, so a phase shorter than one poll may be missed: only the
# graph phase, which takes most of the build, is required to be seen with
# counts; the others must merely not come out of order.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VecdbTest;

my $rows = 40000;
my $dim = 32;
my $node = PostgreSQL::Test::Cluster->new('build_progress');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int, v vector($dim))");
$node->safe_psql('postgres', fill_sql('items', 1, $rows, $dim));

my ($h, $out) = background_psql_file($node, qq{
SET max_parallel_maintenance_workers = 0;
SET maintenance_work_mem = '256MB';
CREATE INDEX items_v ON items USING hnsw (v) WITH (m = 16, ef_construction = 64);
SELECT 'built';
});

my @seen;    # [phase, tuples_total, tuples_done] of each poll that found the build
for (my $polls = 0; $polls < 60_000; $polls++) {
    my $row = $node->safe_psql('postgres', q{SELECT phase || '|' || tuples_total || '|' || tuples_done
        FROM pg_stat_progress_create_index WHERE relid = 'items'::regclass});
    push @seen, [ split /\|/, $row ] if $row ne '';
    last if !$h->pumpable || !eval { $h->pump_nb; 1 };    # psql has exited
    usleep(5_000);
}
$h->finish;
like(slurp_file($out), qr/built/, 'the build finished');
my %count;
$count{ $_->[0] }++ for @seen;
note(scalar(@seen) . ' polls saw the build: ' . join(', ', map { "$_ $count{$_}" } sort keys %count));

# PostgreSQL's own phases come first (CREATE INDEX before it calls the build).
my @order = ('initializing', 'building index: initializing', 'building index: loading tuples',
    'building index: building graph', 'building index: writing pages');
my %rank = map { $order[$_] => $_ } 0 .. $#order;
my @unknown = grep { !exists $rank{ $_->[0] } } @seen;
is(scalar(@unknown), 0, 'every phase seen is one of CREATE INDEX and hnsw') or diag(join(', ', map { $_->[0] } @unknown));

my $in_order = 1;
for my $i (1 .. $#seen) {
    $in_order = 0 if ($rank{ $seen[$i][0] } // 0) < ($rank{ $seen[ $i - 1 ][0] } // 0);
}
ok($in_order, 'phases come in order');

my @graph = grep { $_->[0] eq 'building index: building graph' } @seen;
cmp_ok(scalar(@graph), '>=', 2, 'the graph phase was seen at least twice');
is(scalar(grep { $_->[1] != $rows } @graph), 0, "the graph phase reports tuples_total = $rows");
my @done = map { $_->[2] } @graph;
ok((grep { $_ > 0 && $_ <= $rows } @done) > 0, 'the graph phase reports tuples done, within the total')
    or diag("done: @done");
my $monotone = 1;
for my $i (1 .. $#done) { $monotone = 0 if $done[$i] < $done[ $i - 1 ]; }
ok($monotone, 'tuples done never go back within the graph phase') or diag("done: @done");
ok($done[-1] > $done[0], 'tuples done grow during the graph phase') or diag("done: @done");

# The loading phase counts rows as it reads them (reported every 1,024).
my @load = grep { $_->[0] eq 'building index: loading tuples' } @seen;
ok((grep { $_->[2] > $rows } @load) == 0, 'loading never counts more rows than the table has');

is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_stat_progress_create_index'), '0',
    'the view is empty after the build');
check_index_ok($node, 'postgres', 'items_v', 'the index built under observation');

$node->stop;
done_testing();
