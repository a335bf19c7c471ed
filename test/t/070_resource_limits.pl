# Resource limits: tiny maintenance_work_mem and work_mem, statement_timeout
# and pg_cancel_backend during type-heavy queries, index builds and index
# searches (the backend stays usable, holds no stray locks, does not grow),
# and running out of space while building or filling an index (clear error,
# no partial or corrupt index, the server keeps running).
#
# Out of space always runs, without privileges: a file-size limit
# (RLIMIT_FSIZE, set on the running postmaster with prlimit) makes every
# relation extension past it fail with EFBIG ("could not extend file ...:
# File too large"), which takes the same error paths as ENOSPC.
#
# A real full file system is exercised too when VECDB_SMALL_FS names a small
# file system writable by the server's user (skipped otherwise), e.g. as root:
#   mkdir -p /mnt/vecdb-small
#   mount -t tmpfs -o size=6m,mode=0700,uid=postgres,gid=postgres tmpfs /mnt/vecdb-small
#   VECDB_SMALL_FS=/mnt/vecdb-small make prove_installcheck ...
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use VecdbTest;

my $dim = 64;
my $node = PostgreSQL::Test::Cluster->new('limits');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 1\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dim), h halfvec($dim))");
$node->safe_psql('postgres', fill_sql('items', 1, 30000, $dim, 1));

# Runs a psql script in one session; returns its output (errors included).
sub session {
    my ($sql) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 0);
    return "$out\n$err";
}
# Private memory of this backend (RssAnon: shared buffers it touched do not count).
my $rss = q{SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1] AS rss \gset
};
my $own_locks = q{SELECT count(*) AS locks FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'
    AND relation = 'items'::regclass \gset
};

# 1. Types: statement_timeout and cancel in long vector/halfvec queries.
my $out = session(q{
    SET statement_timeout = '300ms';
    SELECT count(*) FROM generate_series(1, 100000000) g WHERE '[1,2,3]'::vector <-> ARRAY[g, 0, 0]::real[]::vector < 0;
    SELECT avg(v), sum(h) FROM items, generate_series(1, 1000);
    RESET statement_timeout;
    SELECT 'alive' AS status;
});
is(() = $out =~ /canceling statement due to statement timeout/g, 2, 'type queries: both long queries hit statement_timeout');
like($out, qr/alive/, 'type queries: the backend is usable afterwards');

# pg_cancel_backend from another session during a long aggregate.
my ($h, $stdout, $stderr) = ('', '', '');
$h = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('postgres'), '-c',
    'SELECT avg(v) FROM items, generate_series(1, 100000)' ], '>', \$stdout, '2>', \$stderr);
my $pid = '';
for (1 .. 500) {
    $pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT avg(v) FROM items%' AND state = 'active'});
    last if $pid;
    usleep(20_000);
}
ok($pid, 'found the long aggregate');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
$h->finish;
like($stderr, qr/canceling statement due to user request/, 'pg_cancel_backend cancels a long vector aggregate');

# 2. Builds under tiny maintenance_work_mem succeed (with a NOTICE when the
#    graph does not fit) and give sound indexes.
$out = session(q{
    SET maintenance_work_mem = '1MB';
    SET client_min_messages = notice;
    CREATE INDEX items_v_small ON items USING hnsw (v);
    CREATE INDEX items_h_small ON items USING hnsw (h halfvec_cosine_ops);
});
like($out, qr/more than maintenance_work_mem/, 'tiny maintenance_work_mem: the build says it runs over budget');
check_index_ok($node, 'postgres', 'items_v_small', 'built with maintenance_work_mem = 1MB: sound');
check_index_ok($node, 'postgres', 'items_h_small', 'halfvec built with maintenance_work_mem = 1MB: sound');
# Tiny work_mem: searches (and the sorts around them) still answer.
is($node->safe_psql('postgres', "SET work_mem = '64kB'; SET enable_seqscan = off; SET hnsw.ef_search = 400;
    SELECT count(*) FROM (SELECT q.id, (SELECT i.id FROM items i ORDER BY i.v <-> q.v LIMIT 1) AS nn
                          FROM items q WHERE q.id % 100 = 0 ORDER BY q.v <-> q.v, q.h) s WHERE nn = id"),
   '300', 'tiny work_mem: 300 exact-match searches all answer');
$node->safe_psql('postgres', 'DROP INDEX items_h_small');

# 3. statement_timeout during builds, sixteen times in one session: each is
#    cancelled, no lock on the table is left, memory does not keep growing.
#    (Private memory grows over the first cancelled builds and then levels
#    off: the malloc arenas of the build's threads keep what they had. A leak
#    per cancel would keep growing: builds 9..16 must add almost nothing.)
my $rss_note = sub { "SELECT 'rss after build $_[0]: ' || (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\\s+(\\d+)'))[1];\n" };
my $build = sub { "CREATE INDEX items_cancel_$_[0] ON items USING hnsw (v) WITH (m = 24, ef_construction = 200);\n" };
$out = session("SET statement_timeout = '400ms';\n" . join('', map { $build->($_) . $rss_note->($_) } 1 .. 8)
    . $rss . "\\set rss_before :rss\n" . join('', map { $build->($_) . $rss_note->($_) } 9 .. 16)
    . "RESET statement_timeout;\n" . $own_locks . $rss
    . "SELECT :rss_before AS before_kb, :rss AS after_kb, :locks AS locks, count(*) AS contexts FROM pg_backend_memory_contexts WHERE name LIKE 'hnsw%';\n");
is(() = $out =~ /canceling statement due to statement timeout|hnsw index build was interrupted/g, 16,
   'statement_timeout cancels all sixteen builds');
my ($before_kb, $after_kb, $locks, $contexts) = $out =~ /^(\d+)\|(\d+)\|(\d+)\|(\d+)$/m;
note($_) for $out =~ /^(rss after build.*)$/mg;
is($locks, 0, 'cancelled builds leave no lock on the table');
is($contexts, 0, 'cancelled builds leave no hnsw memory context');
cmp_ok($after_kb - $before_kb, '<', 8 * 1024, "cancelled builds 9..16: private memory grew by less than 8 MB ($before_kb -> $after_kb kB)");
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname LIKE 'items_cancel_%'"), '0',
   'no index is left by a cancelled build');

# 4. statement_timeout during searches: a query that runs thousands of index
#    scans is cancelled in the middle, ten times; searches work afterwards.
my $search = "SELECT count(*) FROM items q, LATERAL (SELECT i.id FROM items i ORDER BY i.v <-> q.v LIMIT 50) s;\n";
$out = session("SET enable_seqscan = off; SET hnsw.ef_search = 400;\nSET statement_timeout = '300ms';\n" . $search
    . $rss . "\\set rss_before :rss\n" . ($search x 9) . "RESET statement_timeout;\n" . $own_locks . $rss
    . "SELECT :rss_before AS before_kb, :rss AS after_kb, :locks AS locks, 0;\n"
    . "SELECT 'nn=' || (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 4242) LIMIT 1);\n");
is(() = $out =~ /canceling statement due to statement timeout/g, 10, 'statement_timeout cancels all ten search queries');
($before_kb, $after_kb, $locks) = $out =~ /^(\d+)\|(\d+)\|(\d+)\|0$/m;
is($locks, 0, 'cancelled searches leave no lock on the table');
cmp_ok($after_kb - $before_kb, '<', 16 * 1024, "cancelled searches 2..10: private memory grew by less than 16 MB ($before_kb -> $after_kb kB)");
like($out, qr/nn=4242/, 'after the cancelled searches the same backend searches correctly');
check_index_ok($node, 'postgres', 'items_v_small', 'index sound after cancelled searches');
ok(!$node->log_contains('leak|PANIC|terminated by signal'), 'no resource leak warning, no crash');

# 5. Out of space, without privileges: a file-size limit on the server.
#    Data sized so that the table (about 9 MB) stays under the limit and the
#    index (about 27 MB) crosses it; the limit stays above the 16 MB WAL
#    segments. Each step checks that the server did not restart.
{
    my $rows = 80000;
    my $ddim = 16;
    my $pm = postmaster_pid($node);
    $node->safe_psql('postgres', "CREATE TABLE disk (id int PRIMARY KEY, v vector($ddim)) WITH (autovacuum_enabled = off)");
    $node->safe_psql('postgres', fill_sql('disk', 1, $rows, $ddim, 0));
    $node->safe_psql('postgres', 'VACUUM (FREEZE, ANALYZE) disk; CHECKPOINT');
    my $heap = $node->safe_psql('postgres', "SELECT pg_relation_size('disk')");
    # The limit goes halfway between the table and the index. The index size
    # is extrapolated from a partial index over 1/20 of the rows, so the test
    # follows changes of the page format.
    $node->safe_psql('postgres', "CREATE INDEX disk_sample ON disk USING hnsw (v) WITH (m = 32) WHERE id % 20 = 0");
    my $estimate = 20 * $node->safe_psql('postgres', "SELECT pg_relation_size('disk_sample')");
    $node->safe_psql('postgres', 'DROP INDEX disk_sample');
    my $mb = 1024 * 1024;
    my $limit = int(($heap + $estimate) / 2 / $mb) * $mb;
    $limit = 17 * $mb if $limit < 17 * $mb;
    note("file size limit: table $heap bytes, index estimate $estimate bytes, limit $limit bytes");
    cmp_ok($estimate, '>', $limit + 2 * $mb, "file size limit: the index (about $estimate bytes) will cross the limit ($limit)")
        or diag('the index got smaller: raise $rows in test/t/070');
    cmp_ok($heap, '<', $limit - 4 * $mb, "file size limit: the table ($heap bytes) stays well under the limit");
    my $db_before = $node->safe_psql('postgres', "SELECT pg_database_size('postgres')");
    my $nearest = 'SELECT id FROM disk ORDER BY v <-> ' . vec_sql(4321, $ddim) . ' LIMIT 1';

    # A build that crosses the limit.
    set_file_size_limit($node, $limit);
    $out = session("CREATE INDEX disk_v ON disk USING hnsw (v) WITH (m = 32);\n"
        . "SELECT 'alive:' || count(*) FROM disk;\n");
    like($out, qr/could not extend file .*File too large/, 'file size limit: the build fails with a clear error (EFBIG)');
    like($out, qr/alive:$rows/, 'file size limit: the same backend goes on and reads the table');
    is(postmaster_pid($node), $pm, 'file size limit: the server did not restart');
    is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'disk_v'}) . '/'
        . $node->safe_psql('postgres', q{SELECT count(*) FROM pg_index WHERE indrelid = 'disk'::regclass}),
       '0/1', 'file size limit: no index left behind (pg_class, pg_index: only the primary key)');
    cmp_ok($node->safe_psql('postgres', "SELECT pg_database_size('postgres')") - $db_before, '<', 1024 * 1024,
       'file size limit: the failed build gave its space back');
    is($node->safe_psql('postgres', "SET enable_indexscan = off; $nearest"), '4321',
       'file size limit: the table answers queries');

    # The same build after raising the limit.
    set_file_size_limit($node, 'unlimited');
    $node->safe_psql('postgres', 'CREATE INDEX disk_v ON disk USING hnsw (v) WITH (m = 32)');
    my $index = $node->safe_psql('postgres', "SELECT pg_relation_size('disk_v')");
    cmp_ok($index, '>', $limit, "file size limit: the retried build succeeds and is larger than the limit ($index bytes)");
    check_index_ok($node, 'postgres', 'disk_v', 'file size limit: the retried build is sound');
    is($node->safe_psql('postgres', "SET enable_seqscan = off; $nearest"), '4321',
       'file size limit: the retried build answers searches');

    # Inserts into the index: room for a few pages more. A small batch
    # commits; a large one crosses the limit and rolls back.
    set_file_size_limit($node, $index + 256 * 1024);
    my $ins = sub { "INSERT INTO disk SELECT i, " . vec_sql('i', $ddim) . " FROM generate_series($_[0], $_[1]) i" };
    $node->safe_psql('postgres', $ins->($rows + 1, $rows + 100));
    my ($ret, $o, $err) = $node->psql('postgres', $ins->($rows + 101, $rows + 20000));
    like($err, qr/could not extend file .*File too large/, 'file size limit: inserts that need a new index page fail with a clear error');
    is(postmaster_pid($node), $pm, 'file size limit: the server did not restart after the failed inserts');
    ok(!$node->log_contains('PANIC|terminated by signal|was terminated'), 'file size limit: no PANIC, no crashed process');
    is($node->safe_psql('postgres', "SELECT count(*) || '/' || count(*) FILTER (WHERE id > $rows + 100) FROM disk"),
       ($rows + 100) . '/0', 'file size limit: the committed rows are there, none of the failed batch');
    check_index_ok($node, 'postgres', 'disk_v', 'file size limit: the index is sound after the failed inserts');
    exact_match_ok($node, 'postgres', 'disk', 'v', '<->', "id > $rows", 'disk_v', 'file size limit: committed inserts');

    # With the limit raised, the index takes rows again.
    set_file_size_limit($node, 'unlimited');
    $node->safe_psql('postgres', $ins->($rows + 20001, $rows + 21000));
    check_index_ok($node, 'postgres', 'disk_v', 'file size limit: the index is sound after inserts with the limit raised');
    $node->safe_psql('postgres', 'DROP TABLE disk');
}

# 6. Out of disk on a real small file system (optional, see the top).
SKIP: {
    my $fs = $ENV{VECDB_SMALL_FS};
    skip 'VECDB_SMALL_FS is not set (see the top of this file)', 9 unless $fs && -d $fs && -w $fs;
    my $dir = "$fs/ts_" . $$;
    mkdir $dir or die "mkdir $dir: $!";
    $node->safe_psql('postgres', "CREATE TABLESPACE small LOCATION '$dir'");
    # 30000 x 64 floats is far more than the file system holds.
    my ($ret, $o, $err) = $node->psql('postgres', 'CREATE INDEX items_v_full ON items USING hnsw (v) TABLESPACE small');
    like($err, qr/could not (extend|write).*No space left on device/, 'build on a full file system fails with ENOSPC');
    is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'items_v_full'"), '0',
       'no index is left by the failed build');
    is($node->safe_psql('postgres', "SELECT pg_tablespace_size('small') < 64 * 1024"), 't',
       'the failed build gave its space back');
    # A smaller (partial) index fits; a filler table then takes the rest of
    # the space, and inserts into the index run out of it.
    $node->safe_psql('postgres', 'CREATE INDEX items_v_part ON items USING hnsw (v) TABLESPACE small WHERE id % 30 = 0');
    check_index_ok($node, 'postgres', 'items_v_part', 'partial index in the small tablespace is sound');
    $node->safe_psql('postgres', 'CREATE TABLE filler (t text) TABLESPACE small');
    ($ret, $o, $err) = $node->psql('postgres', q{INSERT INTO filler SELECT repeat('x', 2000) FROM generate_series(1, 100000)});
    like($err, qr/No space left on device/, 'the filler table fills the file system');
    ($ret, $o, $err) = $node->psql('postgres', 'INSERT INTO items SELECT -i, ' . vec_sql('i', $dim) . ', '
        . half_sql('i', $dim) . ' FROM generate_series(30, 600000, 30) i');
    like($err, qr/could not extend file.*No space left on device/, 'inserts into a full index fail with ENOSPC');
    check_index_ok($node, 'postgres', 'items_v_part', 'index sound after the failed inserts');
    is($node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT id FROM items WHERE id % 30 = 0 ORDER BY v <-> '
        . vec_sql(2970, $dim) . ' LIMIT 1'), '2970', 'the index still answers after running out of space');
    $node->safe_psql('postgres', 'DROP INDEX items_v_part; DROP TABLE filler');
    $node->safe_psql('postgres', 'DROP TABLESPACE small');
    ok(1, 'tablespace dropped');
}

$node->stop;
done_testing();
