# Physical backup and point-in-time recovery: pg_basebackup of a primary
# with WAL archiving, a workload (build, inserts, updates, deletes, VACUUM)
# before and after a recorded timestamp, then a new node restored from the
# backup and recovered to that timestamp. It must hold exactly the rows of
# that moment, with sound hnsw indexes that find every one of them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $dim = 16;
my $node = PostgreSQL::Test::Cluster->new('pitr_primary');
$node->init(has_archiving => 1, allows_streaming => 1);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', "CREATE TABLE items (id int PRIMARY KEY, v vector($dim), h halfvec($dim))");
$node->safe_psql('postgres', fill_sql('items', 1, 4000, $dim, 1));
$node->safe_psql('postgres', 'CREATE INDEX items_v ON items USING hnsw (v)');
$node->backup('base');    # pg_basebackup

# Before the target: the index is also built after the backup (its build is
# WAL-logged with page images), plus changes of every kind.
$node->safe_psql('postgres', 'CREATE INDEX items_h ON items USING hnsw (h halfvec_l1_ops)');
for my $k (0 .. 4) {
    $node->safe_psql('postgres', fill_sql('items', 4001 + $k * 200, 4200 + $k * 200, $dim, 1));
}
$node->safe_psql('postgres', 'UPDATE items SET v = v + v, h = h + h WHERE id % 9 = 0');
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 6 = 0');
$node->safe_psql('postgres', 'VACUUM items');
$node->safe_psql('postgres', fill_sql('items', 6001, 6300, $dim, 1));

my $state = q{SELECT count(*), md5(string_agg(id || ':' || v::text || ':' || h::text, ',' ORDER BY id)) FROM items};
my $want = $node->safe_psql('postgres', $state);
$node->safe_psql('postgres', 'SELECT pg_sleep(0.3)');
my $target = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
$node->safe_psql('postgres', 'SELECT pg_sleep(0.3)');
note("recovery target time $target");

# After the target: more of everything, none of which may appear.
$node->safe_psql('postgres', fill_sql('items', 7001, 8000, $dim, 1));
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 5 = 0');
$node->safe_psql('postgres', 'VACUUM items');
$node->safe_psql('postgres', 'REINDEX INDEX items_v');
$node->safe_psql('postgres', fill_sql('items', 8001, 8300, $dim, 1));
isnt($node->safe_psql('postgres', $state), $want, 'the primary moved on after the target');
# Archive everything up to here.
my $walfile = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres', "SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver")
    or die 'WAL not archived';

my $restored = PostgreSQL::Test::Cluster->new('pitr_restored');
$restored->init_from_backup($node, 'base', has_restoring => 1);
$restored->append_conf('postgresql.conf', "recovery_target_time = '$target'\nrecovery_target_action = 'promote'\n");
$restored->start;
$restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'recovery did not end';
ok($restored->log_contains('recovery stopping before commit of transaction'), 'recovery stopped at the target');

is($restored->safe_psql('postgres', $state), $want, 'restored node holds exactly the rows of the target time');
is($restored->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id > 7000'), '0', 'nothing after the target');
check_all_indexes_ok($restored, 'postgres', 'PITR');
my $missed_rows = 0;
for my $q ([ 'v', '<->', 'items_v' ], [ 'h', '<+>', 'items_h' ]) {
    my ($col, $op, $idx) = @$q;
    my ($n, $missed) = exact_match_ok($restored, 'postgres', 'items', $col, $op, 'q.id % 4 = 1', $idx, 'PITR');
    $missed_rows += $missed;
}
note("rows missed by exact-match lookups: $missed_rows");
# The restored node is a working primary.
$restored->safe_psql('postgres', fill_sql('items', 9001, 9100, $dim, 1));
is($restored->safe_psql('postgres', 'SET enable_seqscan = off; SELECT id FROM items ORDER BY v <-> '
    . vec_sql(9050, $dim) . ' LIMIT 1'), '9050', 'the restored node takes new rows into its index');
check_all_indexes_ok($restored, 'postgres', 'PITR, after new rows');

$restored->stop;
$node->stop;
done_testing();
