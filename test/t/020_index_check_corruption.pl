# vecdb_index_check must find real corruption. With the server stopped, one
# thing at a time is broken in the index's relation file (metapage, page
# headers, slot headers, links, vectors, heap TIDs, a lost page, a truncated
# file); after each the checker must report the expected kind of error, and
# a query through the broken index must fail cleanly or answer, never crash
# the server. The pristine file is put back between cases.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY, v vector(16))');
$node->safe_psql('postgres', fill_sql('t', 1, 2000, 16));
$node->safe_psql('postgres', 'CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)');
check_index_ok($node, 'postgres', 't_v', 'the pristine index is sound');
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_v')");
$node->stop;

my $pristine = slurp_file($file);
my $BLCKSZ = 8192;
# Layout (include/vecdb/pg/hnsw.h): page header 24 bytes, metapage contents
# and element slots start at 24; slot = 16-byte header | 2m ids | vector.
my $meta = 24;
my ($slots_per_page, $slot_bytes, $m) = (unpack('v', substr($pristine, $meta + 18, 2)),
    unpack('V', substr($pristine, $meta + 24, 4)), unpack('v', substr($pristine, $meta + 14, 2)));
my $vec_offset = 16 + 8 * $m;
note("slots/page $slots_per_page, slot bytes $slot_bytes, m $m");
sub slot_at { my ($blk, $slot) = @_; return $blk * $BLCKSZ + 24 + $slot * $slot_bytes; }

sub with_corruption {
    my ($name, $patch, $want_kind, $want_detail) = @_;
    my $bytes = $pristine;
    $patch->(\$bytes);
    open(my $fh, '>', $file) or die "open $file: $!";
    binmode $fh;
    print $fh $bytes;
    close $fh;
    $node->start;
    my $rows = $node->safe_psql('postgres', q{SELECT severity || ' | ' || kind || ' | ' || detail
        FROM vecdb_index_check('t_v') WHERE severity <> 'info'});
    like($rows, qr/^error \| \Q$want_kind\E \|.*$want_detail/m, "$name: checker reports $want_kind")
        or diag($rows);
    # raise_error turns it into ERROR with SQLSTATE XX002 (index_corrupted).
    my ($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
        SELECT count(*) FROM vecdb_index_check('t_v', raise_error => true)});
    like($err, qr/XX002: hnsw index "t_v" is corrupted/, "$name: raise_error raises index_corrupted");
    # A query through the broken index may fail, but the server stays up.
    $node->psql('postgres', 'SET enable_seqscan = off; SELECT id FROM t ORDER BY v <-> '
        . vec_sql(77, 16) . ' LIMIT 10');
    is($node->safe_psql('postgres', 'SELECT 1'), '1', "$name: server alive after an index scan");
    ok(!$node->log_contains('terminated by signal'), "$name: no backend crashed");
    $node->stop;
}

sub put { my ($ref, $off, $bytes) = @_; substr($$ref, $off, length $bytes) = $bytes; }

with_corruption('metapage magic', sub { put($_[0], $meta, pack('V', 0xdeadbeef)) }, 'metapage', 'magic 0xdeadbeef');
with_corruption('metapage geometry', sub { put($_[0], $meta + 24, pack('V', $slot_bytes + 8)) }, 'metapage', 'geometry');
with_corruption('entry point out of range', sub { put($_[0], $meta + 28, pack('V', 0x0fffffff)) },
                'entry point', 'is not a slot');
with_corruption('page magic', sub { put($_[0], 2 * $BLCKSZ + $BLCKSZ - 4, pack('V', 0x12345678)) }, 'page', 'bad page magic');
with_corruption('page header', sub { put($_[0], 3 * $BLCKSZ + 12, pack('v', 8)) }, 'page', 'bad page header');
with_corruption('slot state', sub { put($_[0], slot_at(1, 3) + 7, pack('C', 9)) }, 'slot', 'has state 9');
with_corruption('neighbour count', sub { put($_[0], slot_at(1, 4) + 8, pack('v', 999)) }, 'slot', '999 level-0 neighbours');
with_corruption('link beyond the end', sub { put($_[0], slot_at(1, 5) + 16, pack('V', 0x00ffffff)) },
                'link', 'beyond the last block');
with_corruption('link into the metapage', sub { put($_[0], slot_at(1, 6) + 16, pack('V', 1)) },
                'link', 'not a slot of an element page');
with_corruption('NaN in a vector', sub { put($_[0], slot_at(2, 1) + $vec_offset + 12, pack('V', 0x7fc00000)) },
                'vector', 'element 3 is NaN');
with_corruption('changed vector element', sub { put($_[0], slot_at(2, 2) + $vec_offset + 20, pack('f', 1234.5)) },
                'vector mismatch', 'differs from heap row');
with_corruption('heap tid offset', sub { put($_[0], slot_at(3, 0) + 4, pack('v', 250)) },
                'heap tid', 'invalid heap tid|beyond the page');
with_corruption('heap tid block', sub { put($_[0], slot_at(3, 1), pack('vv', 0, 5000)) },
                'heap tid', 'beyond the table');
with_corruption('upper record pointer', sub {
        # The entry point has the highest level: point its record elsewhere.
        my $entry = unpack('V', substr(${ $_[0] }, $meta + 28, 4));
        put($_[0], slot_at(int($entry / $slots_per_page), $entry % $slots_per_page) + 10, pack('v', 999));
    }, 'upper record', 'beyond the page');
with_corruption('lost page (zeroed)', sub { put($_[0], 2 * $BLCKSZ, "\0" x $BLCKSZ) }, 'missing heap row', 'not in the index');
with_corruption('truncated file', sub { substr(${ $_[0] }, length(${ $_[0] }) - 8 * $BLCKSZ) = '' },
                'link', 'beyond the last block');

# Back to the pristine file: sound again (the checker has no false memory).
open(my $fh, '>', $file) or die;
binmode $fh;
print $fh $pristine;
close $fh;
$node->start;
check_index_ok($node, 'postgres', 't_v', 'pristine file restored: sound again');
$node->stop;
done_testing();
