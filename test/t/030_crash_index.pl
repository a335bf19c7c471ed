# Crash recovery of hnsw indexes. The server dies (pg_ctl -m immediate, or
# kill -9 of one backend, which makes the postmaster reset every backend and
# replay WAL) in the middle of: CREATE INDEX, CREATE INDEX CONCURRENTLY,
# batched inserts, VACUUM, and single-row updates. After each recovery:
#   * vecdb_index_check finds no problem in any hnsw index,
#   * every committed row is there and is its own nearest neighbour through
#     the index (an exact-match query),
#   * nothing uncommitted is visible (a batch is there whole or not at all).
# (testinfra's 003_crash.pl covers an immediate stop during single inserts.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use Time::HiRes qw(usleep);
use VecdbTest;

my $dim = 24;
my $node = PostgreSQL::Test::Cluster->new('crash_index');
$node->init;
# Dirty pages stay in shared buffers: recovery must rebuild them from WAL.
$node->append_conf('postgresql.conf', "checkpoint_timeout = 1h\nmax_wal_size = 1GB\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dim))");
$node->safe_psql('postgres', fill_sql('items', 1, 20000, $dim));
$node->safe_psql('postgres', 'CHECKPOINT');
my $crashes = 0;

# (VecdbTest::background_psql_file against this test's node.)
sub background { return background_psql_file($node, $_[0]); }
sub wait_until {
    my ($cond) = @_;
    for (1 .. 6000) { return if $cond->(); usleep(20_000); }
    die 'timed out';
}
sub output { my $f = shift; return -e $f ? slurp_file($f) : ''; }
# Waits until $query (on another connection) returns non-empty; returns it.
sub wait_for {
    my ($query, $h) = @_;
    for (1 .. 3000) {
        my $r = $node->safe_psql('postgres', $query);
        return $r if $r ne '';
        usleep(10_000);
    }
    die "timed out waiting for: $query";
}
sub kill9 {
    my ($pid) = @_;
    my $offset = -s $node->logfile;
    kill 'KILL', $pid or die "kill -9 $pid: $!";
    $crashes++;
    $node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
    # The postmaster restarts every backend and replays WAL.
    $node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'no recovery';
}
sub immediate {
    $node->stop('immediate');
    $crashes++;
    $node->start;
}
# Every row with id in the query is its own nearest neighbour via the index
# (see exact_match_ok in test/perl/VecdbTest.pm for what is tolerated).
my $missed_rows = 0;
sub self_found {
    my ($label, $where) = @_;
    my ($n, $missed) = exact_match_ok($node, 'postgres', 'items', 'v', '<->', $where, 'items_v', $label);
    $missed_rows += $missed;
    return $n;
}
my $rows_verified = 0;

# 1. CREATE INDEX killed in its graph phase: the index never existed; the
#    table is intact; building again works.
# (A wide beam makes the build slow enough to be caught in the act on any machine.)
my ($h, $out) = background("SET maintenance_work_mem = '64MB'; CREATE INDEX items_v ON items USING hnsw (v) WITH (m = 12, ef_construction = 800);");
my $pid = wait_for(q{SELECT pid FROM pg_stat_progress_create_index WHERE phase LIKE 'building index%'}, $h);
immediate();
eval { $h->finish };
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'items_v'"), '0',
   'CREATE INDEX killed mid-build: no index afterwards');
is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '20000', 'CREATE INDEX killed mid-build: table intact');
$node->safe_psql('postgres', 'CREATE INDEX items_v ON items USING hnsw (v) WITH (m = 12)');
check_all_indexes_ok($node, 'postgres', 'rebuilt after a crashed build');
$rows_verified += self_found('rebuilt after a crashed build', 'id % 20 = 0');

# 2. CREATE INDEX CONCURRENTLY killed: an invalid index is left behind; the
#    checker refuses it; REINDEX CONCURRENTLY makes it valid and sound.
($h, $out) = background('CREATE INDEX CONCURRENTLY items_v_cos ON items USING hnsw (v vector_cosine_ops) WITH (ef_construction = 800);');
$pid = wait_for(q{SELECT pid FROM pg_stat_progress_create_index WHERE phase LIKE 'building index%'}, $h);
kill9($pid);
eval { $h->finish };
is($node->safe_psql('postgres', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_v_cos'::regclass}), 'f',
   'CREATE INDEX CONCURRENTLY killed: the index is left invalid');
my ($ret, $o, $err) = $node->psql('postgres', "SELECT * FROM vecdb_index_check('items_v_cos')");
like($err, qr/index "items_v_cos" is not valid/, 'the checker refuses an invalid index');
$node->safe_psql('postgres', 'ALTER INDEX items_v_cos RESET (ef_construction); REINDEX INDEX CONCURRENTLY items_v_cos');
check_all_indexes_ok($node, 'postgres', 'after REINDEX CONCURRENTLY');

# 3. Batched inserts (200 rows per transaction), the inserting backend
#    killed with SIGKILL after some commits.
my $batch = 200;
my $sql = join('', map { 'INSERT INTO items SELECT i, ' . vec_sql('i', $dim) . ' FROM generate_series('
    . (100000 + $_ * $batch + 1) . ', ' . (100000 + ($_ + 1) * $batch) . ") i;\n" } 0 .. 99);
($h, $out) = background($sql);
my $acked = sub { my $n = () = output($out) =~ /^INSERT 0 $batch$/mg; return $n };
wait_until(sub { $acked->() >= 5 });
$pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'INSERT INTO items%' AND pid <> pg_backend_pid()});
kill9($pid) if $pid;
eval { $h->finish };
my $seen = $acked->();
my ($n_new, $max_new) = split /\|/, $node->safe_psql('postgres', 'SELECT count(*), max(id) FROM items WHERE id > 100000');
cmp_ok($n_new, '>=', $seen * $batch, "batched inserts: all $seen acknowledged batches survived");
is($n_new % $batch, 0, 'batched inserts: no partial (uncommitted) batch is visible');
is($max_new - 100000, $n_new, 'batched inserts: the surviving batches are the first ones');
check_all_indexes_ok($node, 'postgres', 'after a killed bulk insert');
$rows_verified += self_found('after a killed bulk insert', 'id > 100000');

# 4. VACUUM killed while it works on the indexes (slowed down by the cost
#    delay so that it is caught there).
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 3 = 0');
($h, $out) = background("SET vacuum_cost_delay = 5; SET vacuum_cost_limit = 20; VACUUM items;");
$pid = wait_for(q{SELECT pid FROM pg_stat_progress_vacuum WHERE phase = 'vacuuming indexes'}, $h);
usleep(300_000);
kill9($pid);
eval { $h->finish };
check_all_indexes_ok($node, 'postgres', 'after a killed VACUUM');
is($node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id % 3 = 0'), '0', 'killed VACUUM: deleted rows stay deleted');
$rows_verified += self_found('after a killed VACUUM', 'id % 10 = 1');
$node->safe_psql('postgres', 'VACUUM items');
check_all_indexes_ok($node, 'postgres', 'after the next VACUUM');

# 5. Single-row updates (each moves a row to a new vector), immediate stop.
#    Update k gives row k the vector of row k + 500000.
$sql = join('', map { "UPDATE items SET v = " . vec_sql($_ + 500000, $dim) . " WHERE id = $_;\n" }
                grep { $_ % 3 } 1 .. 3000);
($h, $out) = background($sql);
my $updates = sub { my $n = () = output($out) =~ /^UPDATE 1$/mg; return $n };
wait_until(sub { $updates->() >= 400 });
immediate();
eval { $h->finish };
my $done = $updates->();
my $moved = $node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id <= 3000 AND v = ' . vec_sql('id + 500000', $dim));
cmp_ok($moved, '>=', $done, "updates: all $done acknowledged updates survived");
is($node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id <= 3000 AND id % 3 <> 0 AND v <> '
    . vec_sql('id + 500000', $dim) . ' AND v <> ' . vec_sql('id', $dim)), '0',
   'updates: every row has its old or its new vector');
check_all_indexes_ok($node, 'postgres', 'after crashed updates');
$rows_verified += self_found('after crashed updates', 'id <= 3000');
# No old version is returned: the nearest row to an old vector of a moved
# row is never that row.
is($node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT count(*) FROM items q WHERE q.id <= 3000 AND q.v = '
    . vec_sql('q.id + 500000', $dim) . ' AND (SELECT i.id FROM items i ORDER BY i.v <-> ' . vec_sql('q.id', $dim)
    . ' LIMIT 1) = q.id AND (SELECT i.v <-> ' . vec_sql('q.id', $dim) . ' FROM items i WHERE i.id = q.id) = 0'), '0',
   'updates: the index returns no old version');

# The index takes new rows after all of it.
$node->safe_psql('postgres', fill_sql('items', 900001, 900100, $dim));
$rows_verified += self_found('new rows after the crashes', 'id > 900000');
check_all_indexes_ok($node, 'postgres', 'at the end');
note("crashes injected: $crashes; rows verified through the index: $rows_verified; missed: $missed_rows");

$node->stop;
done_testing();
