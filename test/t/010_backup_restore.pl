# Logical backup and restore: pg_dump in plain and custom format, restored
# with psql and pg_restore (parallel), round-trips tables with vector and
# halfvec columns (NULLs, -0, extremes, float16 subnormals) and their hnsw
# and btree indexes, with the extension in its own schema and pg_dump's empty
# search_path in force. COPY BINARY out and in gives the same bytes again.
# Query answers (exact and through the hnsw indexes) must be identical.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $node = PostgreSQL::Test::Cluster->new('backup');
$node->init;
$node->start;
my $dim = 24;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
    CREATE SCHEMA vec;
    CREATE EXTENSION vecdb SCHEMA vec;
    SET search_path = public, vec;
    CREATE TABLE items (id int PRIMARY KEY, v vector(24), h halfvec(24), note text);
    CREATE TABLE loose (id int, v vector, h halfvec);   -- no typmod: mixed dimensions
});
my $has_hnsw = $node->safe_psql('src', "SELECT count(*) FROM pg_am WHERE amname = 'hnsw'");
$node->safe_psql('src', 'SET search_path = public, vec; ' . fill_sql('items (id, v, h)', 1, 2000, $dim, 1));
$node->safe_psql('src', q{
    SET search_path = public, vec;
    UPDATE items SET v = NULL WHERE id % 97 = 0;
    UPDATE items SET h = NULL WHERE id % 89 = 0;
    UPDATE items SET note = 'row ' || id WHERE id % 3 = 0;
    INSERT INTO loose VALUES
      (1, '[-0,0,1e-38,-3.4028235e38,3.4028235e38]', '[-0,5.96e-8,6.1e-5,65504,-65504]'),
      (2, '[1]', '[1]'),
      (3, '[0.1,0.2,0.3]', '[0.1,0.2,0.3]'),
      (4, NULL, NULL);
    CREATE INDEX items_v_btree ON items (v);
});
if ($has_hnsw) {
    $node->safe_psql('src', q{
        SET search_path = public, vec;
        CREATE INDEX items_v_l2 ON items USING hnsw (v vec.vector_l2_ops) WITH (m = 8, ef_construction = 40);
        CREATE INDEX items_v_ip ON items USING hnsw (v vec.vector_ip_ops)
            WITH (ef_search = 60, iterative_scan = strict_order, max_scan_tuples = 5000);  -- restored as given
        CREATE INDEX items_v_cos ON items USING hnsw (v vec.vector_cosine_ops);
        CREATE INDEX items_h_l2 ON items USING hnsw (h vec.halfvec_l2_ops);
        CREATE INDEX items_h_l1 ON items USING hnsw (h vec.halfvec_l1_ops);
    });
}

# What must survive: every value (text and binary form), the index
# definitions and query answers.
my $content = q{SET search_path = public, vec;
    SELECT md5(string_agg(concat_ws('|', id, v, h, note, encode(vec.vector_send(v), 'hex'),
                                    encode(vec.halfvec_send(h), 'hex')), E'\n' ORDER BY id)) FROM items
    UNION ALL
    SELECT md5(string_agg(concat_ws('|', id, v, h, vector_dims(v)), E'\n' ORDER BY id)) FROM loose};
my $indexes = q{SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'items'};
my @probes = (
    [ 'v l2', 'v OPERATOR(vec.<->) (SELECT v FROM items WHERE id = 42)' ],
    [ 'v ip', 'v OPERATOR(vec.<#>) (SELECT v FROM items WHERE id = 43)' ],
    [ 'v cosine', 'v OPERATOR(vec.<=>) (SELECT v FROM items WHERE id = 44)' ],
    [ 'h l2', 'h OPERATOR(vec.<->) (SELECT h FROM items WHERE id = 45)' ],
    [ 'h l1', 'h OPERATOR(vec.<+>) (SELECT h FROM items WHERE id = 46)' ],
);
sub answers {
    my ($db) = @_;
    my %a = (content => $node->safe_psql($db, $content), indexes => $node->safe_psql($db, $indexes));
    for my $p (@probes) {
        my ($name, $expr) = @$p;
        $a{"exact $name"} = exact_ids($node, $db, 'items', $expr, 10);
        $a{"index $name"} = index_ids($node, $db, 'items', $expr, 10) if $has_hnsw;
    }
    return \%a;
}
my $want = answers('src');
if ($has_hnsw) {
    # Small table, wide beam: the index answers must be the exact ones.
    is($want->{"index $_->[0]"}, $want->{"exact $_->[0]"}, "source: hnsw $_->[0] answer is exact") for @probes;
}

sub compare {
    my ($db, $label) = @_;
    my $got = answers($db);
    is($got->{$_}, $want->{$_}, "$label: $_ identical") for sort keys %$want;
    check_all_indexes_ok($node, $db, $label) if $has_hnsw;
}

my $dir = $node->basedir;

# Plain format through psql (ON_ERROR_STOP: any failing statement fails).
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/src.sql" ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE plain_copy');
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('plain_copy'),
                    '-f', "$dir/src.sql" ], 'restore plain dump with psql');
compare('plain_copy', 'plain dump');

# Custom format, parallel pg_restore (indexes built by separate jobs).
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/src.dump" ], 'pg_dump custom');
$node->safe_psql('postgres', 'CREATE DATABASE custom_copy');
$node->command_ok([ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr('custom_copy'), "$dir/src.dump" ],
                  'pg_restore custom dump, 2 jobs');
compare('custom_copy', 'custom dump');

# Data only, schema from the dump, indexes created after the data (the
# other order) and a dump of the restored copy equal to the original.
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('custom_copy'), '-f', "$dir/copy.dump" ], 'dump the copy');
$node->command_ok([ 'pg_restore', '-f', "$dir/copy.sql", "$dir/copy.dump" ], 'copy dump to SQL');
$node->command_ok([ 'pg_restore', '-f', "$dir/src2.sql", "$dir/src.dump" ], 'source dump to SQL');
# (pg_dump's \restrict key differs from dump to dump.)
sub dump_text { my $t = slurp_file($_[0]); $t =~ s/^\\(un)?restrict .*$//mg; return $t; }
is(dump_text("$dir/copy.sql"), dump_text("$dir/src2.sql"), 'dumping the restored copy gives the same dump');

# COPY BINARY: out of the source, into an empty copy of the table, and the
# same bytes back out.
$node->safe_psql('src', qq{
    COPY items TO '$dir/items.bin' (FORMAT binary);
    COPY loose TO '$dir/loose.bin' (FORMAT binary);
    SET search_path = public, vec;
    CREATE TABLE items2 (LIKE items INCLUDING DEFAULTS);
    CREATE INDEX items2_v_idx ON items2 USING hnsw (v);     -- filled by inserts, not a build
    CREATE TABLE loose2 (LIKE loose);
    COPY items2 FROM '$dir/items.bin' (FORMAT binary);
    COPY loose2 FROM '$dir/loose.bin' (FORMAT binary);
    COPY items2 TO '$dir/items2.bin' (FORMAT binary);
    COPY loose2 TO '$dir/loose2.bin' (FORMAT binary);
});
is(slurp_file("$dir/items2.bin"), slurp_file("$dir/items.bin"), 'COPY BINARY round trip of items is byte-identical');
is(slurp_file("$dir/loose2.bin"), slurp_file("$dir/loose.bin"), 'COPY BINARY round trip of mixed dimensions is byte-identical');
is($node->safe_psql('src', q{SET search_path = public, vec; SELECT count(*) FROM items a FULL JOIN items2 b USING (id)
        WHERE a.v IS DISTINCT FROM b.v OR a.h IS DISTINCT FROM b.h OR a.note IS DISTINCT FROM b.note}),
   '0', 'COPY BINARY copy has every value');
# COPY BINARY into a table whose typmod does not match must fail cleanly.
my ($ret, $out, $err) = $node->psql('src', qq{SET search_path = public, vec; CREATE TABLE narrow (id int, v vector(3), h halfvec(24), note text);
    COPY narrow FROM '$dir/items.bin' (FORMAT binary)});
like($err, qr/expected 3 dimensions, not 24/, 'COPY BINARY into a narrower typmod is refused');
if ($has_hnsw) {
    check_index_ok($node, 'src', 'items2_v_idx', 'COPY BINARY copy: hnsw index filled by COPY is sound');
    check_all_indexes_ok($node, 'src', 'source after COPY');
}

$node->stop;
done_testing();
