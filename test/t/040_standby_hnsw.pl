# hnsw indexes on a streaming standby with wal_consistency_checking =
# 'generic' (every GenericXLog record that carries a page image is compared
# with the page replay produced). Beyond testinfra's 002_standby.pl: slots
# that span blocks (vector(3000)), packed slots that straddle two blocks
# (vector(784)), an unlogged and a partial index, slot reuse
# after VACUUM, REINDEX CONCURRENTLY, readers on the standby while replay
# changes the graph under them, vecdb_index_check on both nodes (the same
# pages give the same answers, byte for byte), and a promoted standby that
# takes new rows into its indexes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use VecdbTest;

my $primary = PostgreSQL::Test::Cluster->new('hnsw_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecdb');
# A physical slot keeps the primary's WAL until the standby has it: without
# one, WAL-heavy builds (wal_consistency_checking adds page images) can
# recycle a segment before the walreceiver connects (seen once in CI).
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby', true)");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('hnsw_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'\n");
$standby->start;

$primary->safe_psql('postgres', q{
    CREATE TABLE items (id int PRIMARY KEY, v vector(32), h halfvec(32), cat int);
    CREATE TABLE wide (id int PRIMARY KEY, v vector(3000));
    CREATE TABLE mid (id int PRIMARY KEY, v vector(784));
    CREATE UNLOGGED TABLE scratch (id int, v vector(32));
});
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, ' . vec_sql('i', 32) . ', ' . half_sql('i', 32)
    . ', i % 4 FROM generate_series(1, 6000) i');
$primary->safe_psql('postgres', 'INSERT INTO wide SELECT i, ' . vec_sql('i', 3000) . ' FROM generate_series(1, 150) i');
$primary->safe_psql('postgres', 'INSERT INTO mid SELECT i, ' . vec_sql('i', 784) . ' FROM generate_series(1, 150) i');
$primary->safe_psql('postgres', 'INSERT INTO scratch SELECT i, ' . vec_sql('i', 32) . ' FROM generate_series(1, 500) i');
$primary->safe_psql('postgres', q{
    CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
    CREATE INDEX items_h ON items USING hnsw (h halfvec_cosine_ops);
    CREATE INDEX items_v_cat1 ON items USING hnsw (v vector_ip_ops) WHERE cat = 1;
    CREATE INDEX items_l1_f16 ON items USING hnsw (v vector_l1_ops) WITH (storage = float16);
    CREATE INDEX wide_v ON wide USING hnsw (v);
    CREATE INDEX mid_v ON mid USING hnsw (v);
    CREATE INDEX scratch_v ON scratch USING hnsw (v);
});

# Readers on the standby for the whole workload: each query must succeed.
my $reader_sql = join('', map { 'SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '
    . vec_sql($_, 32) . " LIMIT 10) s;\nSELECT count(*) FROM (SELECT id FROM wide ORDER BY v <-> "
    . vec_sql($_, 3000) . " LIMIT 3) s;\n" } 1 .. 150);
my $reader_file = $standby->basedir . '/reader.sql';
open(my $fh, '>', $reader_file) or die;
print $fh $reader_sql;
close $fh;
my $reader_out = $standby->basedir . '/reader.out';
my $reader = IPC::Run::start([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $standby->connstr('postgres'), '-f',
    $reader_file ], '>', $reader_out, '2>&1', IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));

# The workload: inserts in many small transactions, updates, deletes,
# vacuum (frees slots), inserts that reuse them, REINDEX CONCURRENTLY.
for my $k (0 .. 9) {
    my $from = 10001 + $k * 100;
    $primary->safe_psql('postgres', 'INSERT INTO items SELECT i, ' . vec_sql('i', 32) . ', ' . half_sql('i', 32)
        . ", i % 4 FROM generate_series($from, " . ($from + 99) . ') i');
}
$primary->safe_psql('postgres', 'INSERT INTO wide SELECT i, ' . vec_sql('i', 3000) . ' FROM generate_series(151, 200) i');
$primary->safe_psql('postgres', 'INSERT INTO mid SELECT i, ' . vec_sql('i', 784) . ' FROM generate_series(151, 250) i');
$primary->safe_psql('postgres', q{
    DELETE FROM mid WHERE id % 3 = 0;
    UPDATE items SET v = v + v WHERE id % 10 = 7;
    DELETE FROM items WHERE id % 5 = 0;
    DELETE FROM wide WHERE id % 3 = 0;
    DELETE FROM scratch WHERE id % 2 = 0;
});
$primary->safe_psql('postgres', 'VACUUM items; VACUUM wide; VACUUM scratch; VACUUM mid');
$primary->safe_psql('postgres', 'INSERT INTO mid SELECT i, ' . vec_sql('i', 784) . ' FROM generate_series(251, 300) i');
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, ' . vec_sql('i', 32) . ', ' . half_sql('i', 32)
    . ', i % 4 FROM generate_series(20001, 21000) i');
$primary->safe_psql('postgres', 'INSERT INTO wide SELECT i, ' . vec_sql('i', 3000) . ' FROM generate_series(201, 230) i');
$primary->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY items_h');
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 7 = 0; VACUUM items');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

eval { $reader->finish };
my $reader_text = slurp_file($reader_out);
unlike($reader_text, qr/ERROR|FATAL/, 'standby readers ran through replay without an error');
is(() = $reader_text =~ /^\s+\d+$/mg, 300, 'standby readers got all 300 answers');

# Same answers on both nodes (same pages: the same graph, the same order).
my @queries;
for my $i (3, 77, 1234, 10042, 20500) {
    push @queries, "SET enable_seqscan = off; SET hnsw.ef_search = 60; SELECT string_agg(id::text, ',') FROM
        (SELECT id FROM items ORDER BY v <-> " . vec_sql($i, 32) . ' LIMIT 10) s';
    push @queries, "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
        (SELECT id FROM items ORDER BY h <=> " . half_sql($i, 32) . ' LIMIT 10) s';
    push @queries, "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
        (SELECT id FROM items WHERE cat = 1 ORDER BY v <#> " . vec_sql($i, 32) . ' LIMIT 5) s';
    push @queries, "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
        (SELECT id FROM wide ORDER BY v <-> " . vec_sql($i % 230, 3000) . ' LIMIT 5) s';
    # storage = float16: lower bounds re-checked by the executor; the doubled
    # rows of the UPDATE raised the metapage's rounding bound (WAL-logged).
    push @queries, "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
        (SELECT id FROM items ORDER BY v <+> " . vec_sql($i, 32) . ' LIMIT 10) s';
    push @queries, "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM
        (SELECT id FROM mid ORDER BY v <-> " . vec_sql($i % 300, 784) . ' LIMIT 5) s';
}
my $same = 0;
for my $q (@queries) {
    my $want = $primary->safe_psql('postgres', $q);
    $same++ if $want ne '' && $standby->safe_psql('postgres', $q) eq $want;
}
is($same, scalar @queries, 'the standby answers every hnsw query like the primary');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM items'), $primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
   'same row count');
# Unlogged tables have no contents on a standby.
my ($ret, $o, $err) = $standby->psql('postgres', 'SELECT count(*) FROM scratch');
like($err, qr/cannot access temporary or unlogged relations during recovery/, 'unlogged table is not readable on the standby');

check_all_indexes_ok($primary, 'postgres', 'primary');
# On the standby the checker takes AccessShareLock (replay is idle now).
for my $idx (qw(items_v items_h items_v_cat1 items_l1_f16 wide_v mid_v)) {
    check_index_ok($standby, 'postgres', $idx, "standby: vecdb_index_check($idx) finds no problem");
}
ok(!$standby->log_contains('inconsistent page found'), 'no page inconsistency during replay');
ok(!$primary->log_contains('inconsistent page found'), 'no page inconsistency on the primary');

# Promotion: the former standby takes writes into its indexes; unlogged
# indexes come back empty (init fork) and work.
$standby->promote;
$standby->safe_psql('postgres', 'INSERT INTO items SELECT i, ' . vec_sql('i', 32) . ', ' . half_sql('i', 32)
    . ', 1 FROM generate_series(30001, 30300) i');
$standby->safe_psql('postgres', 'INSERT INTO wide SELECT i, ' . vec_sql('i', 3000) . ' FROM generate_series(301, 320) i');
$standby->safe_psql('postgres', 'INSERT INTO scratch SELECT i, ' . vec_sql('i', 32) . ' FROM generate_series(1, 50) i');
is($standby->safe_psql('postgres', 'SET enable_seqscan = off; SELECT id FROM items ORDER BY v <-> '
    . vec_sql(30123, 32) . ' LIMIT 1'), '30123', 'promoted: a new row is found through the index');
is($standby->safe_psql('postgres', 'SET enable_seqscan = off; SELECT id FROM wide ORDER BY v <-> '
    . vec_sql(310, 3000) . ' LIMIT 1'), '310', 'promoted: a new wide row is found through the index');
is($standby->safe_psql('postgres', 'SET enable_seqscan = off; SELECT id FROM scratch ORDER BY v <-> '
    . vec_sql(7, 32) . ' LIMIT 1'), '7', 'promoted: the unlogged index restarted empty and takes rows');
check_all_indexes_ok($standby, 'postgres', 'promoted');

$standby->stop;
$primary->stop;
done_testing();
