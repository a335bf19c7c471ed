# A streaming standby replays vecdb tables (and hnsw indexes, once the access
# method exists) with wal_consistency_checking = 'all': every replayed record
# that carries a page image is compared with the page the standby built, and
# any difference stops the standby. Then both must answer the same, and the
# promoted standby must take new rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'all'\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vecdb');
my $has_hnsw = $primary->safe_psql('postgres', "SELECT count(*) FROM pg_am WHERE amname = 'hnsw'");

# A physical slot keeps the primary's WAL until the standby has it: without
# one, WAL-heavy builds (wal_consistency_checking adds page images) can
# recycle a segment before the walreceiver connects (seen once in CI).
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby', true)");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'\n");
$standby->start;

# Deterministic 16-dimensional rows: row i is [sin(i*17+1), ..., sin(i*17+16)].
my $row = q{(SELECT array_agg(sin(%s * 17 + j))::real[] FROM generate_series(1, 16) j)};
sub rows_sql {
    my ($from, $to) = @_;
    my $r = sprintf($row, 'i');
    return "INSERT INTO items SELECT i, ${r}::vector, ${r}::halfvec FROM generate_series($from, $to) i";
}

$primary->safe_psql('postgres', q{
    CREATE TABLE items (id int PRIMARY KEY, v vector(16), h halfvec(16));
    CREATE INDEX items_v_btree ON items (v);
} . ';' . rows_sql(1, 3000));

if ($has_hnsw) {
    $primary->safe_psql('postgres', q{
        CREATE INDEX items_v_l2 ON items USING hnsw (v vector_l2_ops);
        CREATE INDEX items_v_cos ON items USING hnsw (v vector_cosine_ops);
        CREATE INDEX items_v_ip ON items USING hnsw (v vector_ip_ops) WITH (m = 8, ef_construction = 32);
        CREATE INDEX items_v_l1 ON items USING hnsw (v vector_l1_ops);
        CREATE INDEX items_h_l2 ON items USING hnsw (h halfvec_l2_ops);
    });
}

# Changes after the build: updates, deletes, vacuum, more inserts.
$primary->safe_psql('postgres', rows_sql(3001, 3500));
$primary->safe_psql('postgres', q{
    UPDATE items SET v = v * '[-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1,-1,1]', h = h + h WHERE id % 10 = 3;
    DELETE FROM items WHERE id % 7 = 0;
    VACUUM items;
});
$primary->safe_psql('postgres', rows_sql(3501, 4000));
$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 11 = 0; VACUUM items');
$primary->safe_psql('postgres', 'REINDEX TABLE items') if $has_hnsw;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# The queries both nodes must answer alike.
my @queries = (
    [ 'row count and sum', 'SELECT count(*), sum(v), sum(h) FROM items' ],
    [ 'btree lookup', q{SET enable_seqscan = off; SELECT id FROM items WHERE v > (SELECT v FROM items WHERE id = 5) ORDER BY v LIMIT 5} ],
);
for my $q ([ 'l2', 'v <->' ], [ 'cosine', 'v <=>' ], [ 'ip', 'v <#>' ], [ 'l1', 'v <+>' ], [ 'halfvec l2', 'h <->' ]) {
    my ($name, $op) = @$q;
    my $target = $op =~ /^h/ ? 'h' : 'v';
    push @queries, [ "exact $name neighbours",
        "SET enable_indexscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM items
         ORDER BY $op (SELECT $target FROM items WHERE id = 42), id LIMIT 10) s" ];
    next unless $has_hnsw;
    push @queries, [ "hnsw $name neighbours",
        "SET enable_seqscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM items
         ORDER BY $op (SELECT $target FROM items WHERE id = 42) LIMIT 10) s" ];
}

sub compare_nodes {
    my ($label, $other) = @_;
    for my $q (@queries) {
        my ($name, $sql) = @$q;
        my $want = $primary->safe_psql('postgres', $sql);
        isnt($want, '', "$label: $name has an answer");
        is($other->safe_psql('postgres', $sql), $want, "$label: $name is the same on the standby");
    }
}
compare_nodes('after build, DML, vacuum' . ($has_hnsw ? ', reindex' : ''), $standby);

SKIP: {
    skip 'no hnsw access method yet', 1 unless $has_hnsw;
    like($standby->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF)
        SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 42) LIMIT 10"),
        qr/Index Scan using items_v_l2/, 'the standby answers from the hnsw index');
}

ok(!$standby->log_contains('inconsistent page found'), 'no page inconsistency during replay');

# Promotion: the former standby takes writes, its indexes included.
$standby->promote;
$standby->safe_psql('postgres', rows_sql(4001, 4100));
is($standby->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id > 4000'), '100',
   'the promoted standby takes inserts');
is($standby->safe_psql('postgres', q{SET enable_seqscan = off; SELECT id FROM items
       ORDER BY v <-> (SELECT v FROM items WHERE id = 4077) LIMIT 1}),
   '4077', 'a row inserted after promotion is its own nearest neighbour');

$standby->stop;
$primary->stop;
done_testing();
