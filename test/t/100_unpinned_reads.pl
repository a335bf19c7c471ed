# Scans read neighbours without pinning their buffers (docs/hnsw.md, "Reading
# neighbours without a pin"): a per-backend hint names the shared buffer that
# held each block, and a read counts only if the buffer's descriptor names
# that block before and after it. Here shared_buffers holds a fraction of the
# indexes, so hints go stale all the time and buffers change hands while
# other sessions search. The search is deterministic, so every query must
# return exactly the rows it returned with the indexes cached and every page
# pinned (hnsw.pin_free_reads = off), at the same distances, in order. (The
# distances compared are the executor's own v <-> p.v, whose last bits vary
# with the address of the detoasted value: the kernels start at the first
# argument's alignment. So they are compared to 1e-6, relative.) Two layouts: classic slots (32 dimensions) and packed
# slots whose vectors straddle two pages (500 dimensions). A check that
# trusted a stale hint would score other pages' bytes and fail.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecdbTest;

my $node = PostgreSQL::Test::Cluster->new('unpinned_reads');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');

# name => [dimensions, rows]
my %sets = (small => [32, 20000], wide => [500, 3000]);
my %cached;
for my $t (sort keys %sets) {
    my ($dim, $rows) = @{ $sets{$t} };
    $node->safe_psql('postgres', "CREATE TABLE $t (id int PRIMARY KEY, v vector($dim))");
    $node->safe_psql('postgres', fill_sql($t, 1, $rows, $dim));
    $node->safe_psql('postgres', "CREATE INDEX ${t}_hnsw ON $t USING hnsw (v vector_l2_ops) WITH (m = 8)");
    $node->safe_psql('postgres', "CREATE TABLE ${t}_probes AS SELECT i, " . vec_sql('i + 1000000', $dim)
        . " AS v FROM generate_series(1, 100) i");
    my $pages = $node->safe_psql('postgres', "SELECT pg_relation_size('${t}_hnsw') / 8192");
    cmp_ok($pages, '>', 400, "$t: index has $pages pages");
}

# One line per probe: "id=distance,..." in the order the index scan returns.
sub probes {
    my ($t, $pin_free) = @_;
    my $sql = "SET enable_seqscan = off; SET enable_sort = off; SET hnsw.ef_search = 40;
        SET hnsw.pin_free_reads = $pin_free;
        SELECT p.i || ' ' || (SELECT string_agg(s.id || '=' || s.d, ',') FROM
            (SELECT id, v <-> p.v AS d FROM $t ORDER BY v <-> p.v LIMIT 10) s) FROM ${t}_probes p ORDER BY p.i";
    return split /\n/, $node->safe_psql('postgres', $sql);
}
# Shared buffers an index scan of probe 1 counted (hits + reads): pinned
# pages count, pages read without a pin do not.
sub counted_buffers {
    my ($t, $pin_free) = @_;
    my $plan = $node->safe_psql('postgres', "SET enable_seqscan = off; SET hnsw.pin_free_reads = $pin_free;
        SELECT id FROM $t ORDER BY v <-> (SELECT v FROM ${t}_probes WHERE i = 1) LIMIT 10;
        EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
        SELECT id FROM $t ORDER BY v <-> (SELECT v FROM ${t}_probes WHERE i = 1) LIMIT 10");
    my ($buffers) = $plan =~ /Index Scan.*?\n\s+Buffers: shared ([^\n]*)/s;
    die "no Buffers line for the index scan in:\n$plan" unless defined $buffers;
    my ($hit) = $buffers =~ /hit=(\d+)/;
    my ($read) = $buffers =~ /read=(\d+)/;
    return ($hit // 0) + ($read // 0);
}

# Probes whose answer differs from the reference: other rows, other order,
# or a distance off by more than 1e-6 (relative).
sub differing {
    my ($got, $want) = @_;
    my @bad;
    for my $k (0 .. $#$want) {
        my ($gi, $gl) = split / /, ($got->[$k] // '');
        my ($wi, $wl) = split / /, $want->[$k];
        my @g = map { [ split /=/ ] } split /,/, ($gl // '');
        my @w = map { [ split /=/ ] } split /,/, $wl;
        my $ok = defined $gi && $gi eq $wi && @g == @w;
        for my $j (0 .. $#w) {
            last unless $ok;
            $ok = $g[$j][0] == $w[$j][0] && abs($g[$j][1] - $w[$j][1]) <= 1e-6 * abs($w[$j][1]);
        }
        push @bad, $k unless $ok;
    }
    return @bad;
}

for my $t (sort keys %sets) {
    @{ $cached{$t} } = probes($t, 'off');
    is(scalar @{ $cached{$t} }, 100, "$t: all probes answered, index cached, every page pinned");
    my @on = probes($t, 'on');
    is(scalar(differing(\@on, $cached{$t})), 0, "$t: pin-free reads return the same rows with the index cached");
    my ($pinned, $free) = (counted_buffers($t, 'off'), counted_buffers($t, 'on'));
    cmp_ok($free, '<', 0.7 * $pinned, "$t: the pin-free path ran ($free buffers counted against $pinned pinned)");
}

# 128 buffers for indexes several times larger, heaps and catalogs included.
$node->append_conf('postgresql.conf', "shared_buffers = 1MB\n");
$node->restart;
my $reads_sql = "SELECT sum(idx_blks_read) FROM pg_statio_user_indexes WHERE indexrelname LIKE '%_hnsw'";
my $reads0 = $node->safe_psql('postgres', $reads_sql);

# Two sessions churn the cache with other searches until the probes are done
# (each statement of the DO block sees the stop row once it commits).
$node->safe_psql('postgres', 'CREATE TABLE churn_stop (done bool)');
sub churn {
    my ($t, $rows) = @_;
    return qq{SET enable_seqscan = off; SET enable_sort = off;
DO \$\$
DECLARE q vector; BEGIN
  FOR k IN 1..200000 LOOP
    EXIT WHEN EXISTS (SELECT FROM churn_stop);
    SELECT v INTO q FROM $t WHERE id = (k * 7919) % $rows + 1;
    PERFORM id FROM $t ORDER BY v <-> q LIMIT 10;
  END LOOP;
END \$\$;
SELECT 'churn done';
};
}
my @bg = map { [ background_psql_file($node, churn($_, $sets{$_}[1])) ] } sort keys %sets;
my %pressed;
for my $pass (1 .. 3) {
    for my $t (sort keys %sets) {
        my @got = probes($t, 'on');
        @{ $pressed{$t} } = @got if $pass == 1;
        my @diff = differing(\@got, $cached{$t});
        is(scalar @diff, 0, "$t, pass $pass under eviction: every probe returns the cached, pinned run's rows")
            or diag(join("\n", map { "cached: $cached{$t}[$_]\nnow:    " . ($got[$_] // '') } @diff[0 .. ($#diff < 2 ? $#diff : 2)]));
    }
}
$node->safe_psql('postgres', 'INSERT INTO churn_stop VALUES (true)');
for my $b (@bg) {
    my ($h, $out) = @$b;
    $h->finish;
    my $text = slurp_file($out);
    like($text, qr/churn done/, 'churn session finished');
    unlike($text, qr/ERROR/, 'churn session saw no error');
}
my $reads = $node->safe_psql('postgres', $reads_sql) - $reads0;
cmp_ok($reads, '>', 5000, "the indexes were read from disk over and over ($reads block reads)");

# Distances in order (the executor computes v <-> p.v itself).
for my $t (sort keys %sets) {
    my $bad = 0;
    for my $line (@{ $pressed{$t} }) {
        my ($i, $list) = split / /, $line;
        my @d = map { (split /=/)[1] } split /,/, $list;
        $bad++ if @d != 10 || grep { $d[$_] < $d[$_ - 1] * (1 - 1e-6) } 1 .. $#d;
    }
    is($bad, 0, "$t: every probe returned 10 rows in distance order");
}

$node->stop;
done_testing();
