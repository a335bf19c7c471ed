# Crash points (vecdb.crash_point, docs/reliability.md "Crash points"): the
# server dies at a chosen place between two WAL records of a multi-record
# hnsw change, with everything logged up to there flushed and nothing after.
# Unlike the kill -9 / immediate stops of tests 030 and 080, which land
# wherever the process happens to be, every point below is hit on purpose,
# on both page layouts (classic: 24 dims; packed: 784 dims, slots straddle
# pages; and slots spanning blocks, 3,000 dims):
#   * a direct insert (no pending list) after its node is written and after
#     some of its back links (multi-block slots: after continuation pages);
#   * a merge of the pending list after a slot pick that logged fresh pages
#     (packed: also the pick that moved the insert block past the reserved
#     slot, the "abandoned reservation"), after the entry records its slot,
#     after the node is written, between back links, before the entry is
#     marked merged, after a merged page leaves the list;
#   * VACUUM after marking dead nodes, between list repairs, after freeing
#     slots (also with nearly every row deleted, so that the entry point is
#     among the freed nodes).
# After each recovery: the checker finds no error, every committed row is
# found exactly once by an unordered index walk and is its own nearest
# neighbour through the index, and uncommitted rows are not there. Then the
# interrupted work is finished and checked again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $node = PostgreSQL::Test::Cluster->new('crash_points');
$node->init;
$node->append_conf('postgresql.conf',
    "checkpoint_timeout = 1h\nmax_wal_size = 1GB\nrestart_after_crash = on\nautovacuum = off\n"
    . "hnsw.background_merge = off\nhnsw.pending_list_limit = '64MB'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');

# A normal user cannot arm a point.
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
# (The setting exists once the library is loaded; before that SET makes a
# placeholder, which loading checks the same way.)
my ($rc, $out, $err) = $node->psql('postgres',
    "SELECT '[1]'::vector; SET ROLE plain; SET vecdb.crash_point = 'hnsw_node_written'");
like($err, qr/permission denied to set parameter "vecdb.crash_point"/, 'only superusers can arm a crash point');
($rc, $out, $err) = $node->psql('postgres',
    "SET ROLE plain; SET vecdb.crash_point = 'hnsw_node_written'; SELECT '[1]'::vector; SELECT current_setting('vecdb.crash_point') = ''");
like($err, qr/permission denied to set parameter "vecdb.crash_point"/, '... nor set it before the library loads');
like($out, qr/\nt$/, '... where the placeholder is dropped');
($rc, $out, $err) = $node->psql('postgres', "SELECT '[1]'::vector; SET vecdb.crash_point = 'Bad-Name:0'");
like($err, qr/invalid value for parameter "vecdb.crash_point"/, 'a malformed crash point is refused');

my $crashes = 0;
# Runs $sql in a session with the point armed; the server must die there.
sub crash_at {
    my ($point, $sql, $label) = @_;
    my $offset = -s $node->logfile;
    my ($rc, $stdout, $stderr) = $node->psql('postgres', "SET vecdb.crash_point = '$point'; $sql");
    (my $name = $point) =~ s/:\d+$//;
    # (Not reached: the statement simply finished; fail and go on.)
    ok($node->log_contains(qr/crash point "$name" reached/, $offset), "$label: the server died at $point")
        or return diag("psql: rc $rc, $stderr");
    $node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
    $node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'no recovery';
    $crashes++;
}

# The index is whole: checker, every row found once, each its own nearest.
sub index_whole {
    my ($label, $table, $rows) = @_;
    check_index_ok($node, 'postgres', "${table}_v", "$label: the checker finds no error");
    my ($n, $walk, $distinct) = split /\|/, $node->safe_psql('postgres', qq{SET enable_seqscan = off;
        SELECT (SELECT count(*) FROM $table), count(*), count(DISTINCT id) FROM (SELECT id FROM $table ORDER BY v <-> NULL) s});
    is($n, $rows, "$label: $rows committed rows, no uncommitted one") if defined $rows;
    is($walk, $n, "$label: an unordered index walk returns all $n rows");
    is($distinct, $n, "$label: ... each of them once");
    my $missed = $node->safe_psql('postgres', qq{SET enable_seqscan = off; SET hnsw.ef_search = 400;
        SELECT count(*) FROM $table q WHERE (SELECT i.id FROM $table i ORDER BY i.v <-> q.v LIMIT 1) <> q.id});
    is($missed, '0', "$label: every row is its own nearest neighbour through the index");
}

sub pending { return $node->safe_psql('postgres', "SELECT vecdb_hnsw_pending_count('$_[0]_v')"); }

# Free slots that an insert could take on element blocks before the insert
# block, as "block:id" (read with pageinspect; layout in
# include/vecdb/pg/hnsw.h). Inserts fill blocks in order, so with no row
# deleted these are reservations whose node was never written: a crash
# leaves them, and a later pick must take them again. (A free straddling
# slot whose next block is not an element page can never be used and is not
# counted; holes are not slots.)
sub leaked_slots {
    my ($idx) = @_;
    my %page;
    my $bs = $node->safe_psql('postgres', 'SHOW block_size');
    for my $line (split /\n/, $node->safe_psql('postgres', qq{SELECT b, encode(get_raw_page('$idx', b::int), 'hex')
        FROM generate_series(0, pg_relation_size('$idx') / $bs - 1) b})) {
        my ($b, $hex) = split /\|/, $line;
        $page{$b} = pack('H*', $hex);
    }
    my ($area_start, $area) = (24, $bs - 24 - 8);
    my $meta = substr($page{0}, $area_start);
    my ($m, $spp, $packed, $slot_bytes, $insert_block) = (unpack('S', substr($meta, 14, 2)),
        unpack('S', substr($meta, 18, 2)), unpack('S', substr($meta, 22, 2)), unpack('L', substr($meta, 24, 4)),
        unpack('L', substr($meta, 36, 4)));
    return () if $insert_block == 0xFFFFFFFF;    # no element block yet
    my $vec_offset = 16 + 8 * $m;
    my $is_element = sub { my $p = $page{ $_[0] }; return defined $p && unpack('S', substr($p, $bs - 8, 2)) == 2; };
    my @leaked;
    for my $blk (1 .. $insert_block - 1) {
        next unless $is_element->($blk);
        my ($first, $count) = $packed
            ? (int(($blk * $area + $slot_bytes - 1) / $slot_bytes), 0)
            : ($blk * $spp, $spp);
        $count = int((($blk + 1) * $area - $vec_offset) / $slot_bytes) + 1 - $first if $packed;
        for my $id ($first .. $first + $count - 1) {
            my $off = $packed ? ($id * $slot_bytes) % $area : ($id - $first) * $slot_bytes;
            next if $packed && $off + $vec_offset > $area;    # a hole
            next if unpack('C', substr($page{$blk}, $area_start + $off + 7, 1)) != 0;    # not free
            next if $packed && $off + $slot_bytes > $area && !$is_element->($blk + 1);    # unusable straddler
            push @leaked, "$blk:$id";
        }
    }
    return @leaked;
}
$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');

for my $layout (['classic', 24, 600, 'WITH (m = 12, ef_construction = 40)'], ['packed', 784, 200, '']) {
    my ($name, $dim, $base, $with) = @$layout;
    my $t = "t_$name";
    $node->safe_psql('postgres', "CREATE TABLE $t (id int PRIMARY KEY, v vector($dim)) WITH (autovacuum_enabled = off)");
    $node->safe_psql('postgres', fill_sql($t, 1, $base, $dim));
    $node->safe_psql('postgres', "CREATE INDEX ${t}_v ON $t USING hnsw (v) $with");
    $node->safe_psql('postgres', 'CHECKPOINT');
    my $rows = $base;

    # Direct inserts: the transaction dies with the server.
    my $batch = 'SET hnsw.pending_list_limit = 0; ' . fill_sql($t, $rows + 1, $rows + 20, $dim);
    crash_at('hnsw_node_written:3', $batch, "$name insert");
    index_whole("$name: insert died after a node was written", $t, $rows);
    crash_at('hnsw_list_written:25', $batch, "$name insert");
    index_whole("$name: insert died between back links", $t, $rows);
    $node->safe_psql('postgres', $batch);
    $rows += 20;
    index_whole("$name: the same rows inserted after recovery", $t, $rows);

    # Merges. Each crash leaves part of the list merged; the last merge
    # takes the rest.
    my $n_pending = $name eq 'packed' ? 120 : 300;
    $node->safe_psql('postgres', fill_sql($t, $rows + 1, $rows + $n_pending, $dim));
    $rows += $n_pending;
    is(pending($t), $n_pending, "$name: $n_pending rows wait on the pending list");
    my @points = ('hnsw_pick_logged:2', 'hnsw_merge_reserved:3', 'hnsw_node_written:4', 'hnsw_list_written:40',
                  'hnsw_merge_linked:5', 'hnsw_merge_reclaimed');
    push @points, 'hnsw_pick_past_head', 'hnsw_pick_past_head:2' if $name eq 'packed';
    for my $point (@points) {
        my $before = pending($t);
        crash_at($point, "SELECT vecdb_hnsw_merge_pending('${t}_v')", "$name merge");
        index_whole("$name: merge died at $point", $t, $rows);
        cmp_ok(pending($t), '<=', $before, "$name: merge died at $point: no entry came back");
        # The pick moved the insert block past the slot it reserved: that
        # slot is left behind, free (the test of the leak check below).
        ok(scalar(leaked_slots("${t}_v")) > 0, "$name: merge died at $point: a reserved slot is left behind")
            if $point eq 'hnsw_pick_past_head';
    }
    my $left = pending($t);
    cmp_ok($left, '>', 0, "$name: entries left for the last merge ($left)");
    is($node->safe_psql('postgres', "SELECT vecdb_hnsw_merge_pending('${t}_v')"), $left,
       "$name: a merge after the crashes takes the $left entries left");
    is(pending($t), '0', "$name: the list is empty");
    index_whole("$name: after the merges", $t, $rows);
    my @leaked = leaked_slots("${t}_v");
    is(scalar(@leaked), 0, "$name: every slot a crashed merge reserved was taken again") or diag("free: @leaked");

    # VACUUM after a quarter of the rows died.
    $node->safe_psql('postgres', "DELETE FROM $t WHERE id % 4 = 1");
    $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $t");
    for my $point ('hnsw_vacuum_marked:2', 'hnsw_vacuum_list_written:10', 'hnsw_vacuum_freed:2') {
        crash_at($point, "VACUUM $t", "$name vacuum");
        index_whole("$name: vacuum died at $point", $t, $rows);
    }
    $node->safe_psql('postgres', "VACUUM $t");
    index_whole("$name: after a whole vacuum", $t, $rows);
    my $summary = $node->safe_psql('postgres', "SELECT detail FROM vecdb_index_check('${t}_v') WHERE kind = 'summary'");
    like($summary, qr/deleted 0,/, "$name: the whole vacuum left no deleted node");

    # Nearly every row deleted: the entry point goes too, and the vacuum dies
    # right after freeing the first block's slots.
    $node->safe_psql('postgres', "DELETE FROM $t WHERE id > 12");
    $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $t");
    crash_at('hnsw_vacuum_freed', "VACUUM $t", "$name vacuum of nearly all rows");
    index_whole("$name: vacuum of nearly all rows died after freeing slots", $t, $rows);
    $node->safe_psql('postgres', "VACUUM $t");
    index_whole("$name: vacuum of nearly all rows, again", $t, $rows);
    $node->safe_psql('postgres', fill_sql($t, 10001, 10000 + $base, $dim));
    index_whole("$name: rows inserted into the vacuumed index", $t, $rows + $base);
}

# Slots that span blocks (3,000 dims): continuation pages are written before
# the head, in records of their own.
$node->safe_psql('postgres', "CREATE TABLE t_wide (id int PRIMARY KEY, v vector(3000)) WITH (autovacuum_enabled = off)");
$node->safe_psql('postgres', fill_sql('t_wide', 1, 30, 3000));
$node->safe_psql('postgres', 'CREATE INDEX t_wide_v ON t_wide USING hnsw (v)');
crash_at('hnsw_continuation_written:2', 'SET hnsw.pending_list_limit = 0; ' . fill_sql('t_wide', 31, 40, 3000),
         'multi-block insert');
index_whole('multi-block: insert died after continuation pages', 't_wide', 30);
like($node->safe_psql('postgres', q{SELECT string_agg(detail, '; ') FROM vecdb_index_check('t_wide_v')
                                    WHERE kind = 'page' AND severity = 'warning'}),
     qr/continuation block after an all-zero head/, 'multi-block: the cut-off slot is reported as a warning');
# (These rows are linked at insert time: the pending list takes single-block slots only.)
$node->safe_psql('postgres', fill_sql('t_wide', 31, 40, 3000));
index_whole('multi-block: the same rows inserted after recovery', 't_wide', 40);

my $killed = () = slurp_file($node->logfile) =~ /terminated by signal 9/g;
is($killed, $crashes, "every one of the $crashes crashes was a crash point's SIGKILL");
ok(!$node->log_contains('TRAP|terminated by signal 11|terminated by signal 6|PANIC'),
   "no backend failed other than at the $crashes crash points");

$node->stop;
done_testing();
