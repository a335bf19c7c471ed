# The hnsw build links its graph with as many threads as PostgreSQL would give
# a parallel btree build of the table (1 + plan_create_index_workers(), from
# max_parallel_maintenance_workers, the table's size and maintenance_work_mem),
# at most the machine's cores (docs/hnsw.md "Build"): the build says how many
# at DEBUG1. A build with two workers allowed must use min(3, cores) threads,
# one with none a single thread, and the two graphs must answer alike: recall
# within 0.03 of each other over 100 queries at ef_search 40.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $rows = 20000;
my $dim = 32;
my $node = PostgreSQL::Test::Cluster->new('build_threads');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE par (id int, v vector($dim))");
$node->safe_psql('postgres', fill_sql('par', 1, $rows, $dim));
$node->safe_psql('postgres', 'CREATE TABLE ser AS SELECT * FROM par');
$node->safe_psql('postgres', 'ANALYZE');

my $cores = `getconf _NPROCESSORS_ONLN`;
chomp $cores;
$cores = 1 if !$cores || $cores !~ /^\d+$/;

sub build {
    my ($table, $workers) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', qq{
        SET client_min_messages = debug1;
        SET max_parallel_maintenance_workers = $workers;
        SET min_parallel_table_scan_size = 0;
        SET maintenance_work_mem = '256MB';
        CREATE INDEX ${table}_v ON $table USING hnsw (v) WITH (m = 16, ef_construction = 64)});
    is($ret, 0, "$table: the build succeeds") or diag($err);
    return $err =~ /hnsw build: linking $rows rows with (\d+) thread\(s\)/ ? $1 : -1;
}

my $want = $cores < 3 ? $cores : 3;
is(build('par', 2), $want, "two workers allowed: $want threads on $cores cores");
is(build('ser', 0), 1, 'no workers: one thread');

# Recall of both graphs against exact answers, 100 queries that are not rows.
my ($hits_par, $hits_ser) = (0, 0);
for my $q (1 .. 100) {
    my $expr = 'v <-> ' . vec_sql($rows + $q, $dim);
    my %exact = map { $_ => 1 } split /,/, exact_ids($node, 'postgres', 'par', $expr, 10);
    for my $t ([ 'par', \$hits_par ], [ 'ser', \$hits_ser ]) {
        my $got = $node->safe_psql('postgres', "SET enable_seqscan = off; SET hnsw.ef_search = 40;
            SELECT string_agg(id::text, ',') FROM (SELECT id FROM $t->[0] ORDER BY $expr LIMIT 10) s");
        ${ $t->[1] } += grep { $exact{$_} } split /,/, $got;
    }
}
my ($r_par, $r_ser) = ($hits_par / 1000, $hits_ser / 1000);
note("recall\@10 at ef_search 40: parallel $r_par, serial $r_ser");
cmp_ok($r_par, '>=', 0.75, 'the parallel graph finds its neighbours');
cmp_ok(abs($r_par - $r_ser), '<=', 0.03, 'parallel and serial graphs answer alike (recall within 0.03)');

check_index_ok($node, 'postgres', 'par_v', 'parallel build');
check_index_ok($node, 'postgres', 'ser_v', 'serial build');
$node->stop;
done_testing();
