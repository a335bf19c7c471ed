# Helpers shared by vecdb's TAP tests (test/t/*.pl); PROVE_FLAGS puts this
# directory on @INC.
package VecdbTest;
use strict;
use warnings;
use Test::More;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils ();
our @EXPORT = qw(vec_sql half_sql fill_sql check_index_ok check_all_indexes_ok exact_ids index_ids exact_match_ok
    postmaster_pid set_file_size_limit background_psql_file);

# SQL for the deterministic vector of row $i (an SQL expression) with $dim
# elements in [-1, 1): a hash of (i, j) (fract(sin(...) * 43758.5453)), so
# rows are spread like random data and no two rows are equal.
sub _elems {
    my ($i, $dim) = @_;
    return "(SELECT array_agg((s - floor(s)) * 2 - 1 ORDER BY j)::real[] FROM
             (SELECT j, sin(($i) * 12.9898 + j * 78.233) * 43758.5453 AS s FROM generate_series(1, $dim) j) h)";
}
sub vec_sql { return _elems(@_) . '::vector'; }
sub half_sql { return _elems(@_) . '::halfvec'; }

# INSERT of rows $from..$to into a table (id int, v vector(dim)[, h halfvec(dim)]).
sub fill_sql {
    my ($table, $from, $to, $dim, $with_half) = @_;
    my $cols = vec_sql('i', $dim) . ($with_half ? ', ' . half_sql('i', $dim) : '');
    return "INSERT INTO $table SELECT i, $cols FROM generate_series($from, $to) i";
}

# Runs vecdb_index_check on one index; passes when it reports no 'error'
# rows. Warnings are shown as notes. Returns the summary line.
sub check_index_ok {
    my ($node, $db, $index, $name) = @_;
    my $schema = $node->safe_psql($db, q{SELECT quote_ident(n.nspname) FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vecdb'});
    my $rows = $node->safe_psql($db, "SELECT severity || ' ' || kind || ' ' || coalesce(blkno::text, '-') || ' '
        || coalesce(node::text, '-') || ': ' || detail FROM $schema.vecdb_index_check('$index'::regclass)");
    my @errors = grep { /^error / } split /\n/, $rows;
    note($_) for grep { !/^error / } split /\n/, $rows;
    ok(!@errors, $name // "vecdb_index_check($index) finds no problem") or diag(join("\n", @errors[0 .. ($#errors < 20 ? $#errors : 19)]));
    my ($summary) = grep { /^info summary/ } split /\n/, $rows;
    return $summary // '';
}

# Checks every hnsw index of the database.
sub check_all_indexes_ok {
    my ($node, $db, $label) = @_;
    my @idx = split /\n/, $node->safe_psql($db, q{SELECT c.oid::regclass FROM pg_class c JOIN pg_am a ON a.oid = c.relam
        WHERE a.amname = 'hnsw' ORDER BY 1});
    check_index_ok($node, $db, $_, "$label: vecdb_index_check($_) finds no problem") for @idx;
    return scalar @idx;
}

# Ids of the k nearest rows: exact (sequential scan) and through the index.
sub exact_ids {
    my ($node, $db, $table, $expr, $k) = @_;
    return $node->safe_psql($db, "SET enable_indexscan = off; SELECT string_agg(id::text, ',' ORDER BY d, id) FROM
        (SELECT id, $expr AS d FROM $table ORDER BY $expr, id LIMIT $k) s");
}
sub index_ids {
    my ($node, $db, $table, $expr, $k) = @_;
    return $node->safe_psql($db, "SET enable_seqscan = off; SET hnsw.ef_search = 400; SELECT string_agg(id::text, ',' ORDER BY d, id) FROM
        (SELECT id, $expr AS d FROM $table ORDER BY $expr LIMIT $k) s");
}

# Exact-match lookups: every row of $table matching $where should be its
# own nearest neighbour through $index (column $col, operator $op).
# vecdb_index_check with heapallindexed (check_index_ok) already proves that
# every row is in the index with its vector; this measures whether searches
# find them. Two ways to miss a row: a stranded node (no in-links: the
# checker reports it unreachable and no beam ever finds it; docs/reliability.md
# finding 1, closed since inserts go through the pending list and one merger
# links at a time) and plain search misses of an approximate index. So: no
# missed row may sit on a stranded node, and at most 0.5% may be missed at
# ef_search 1000 (a lost page or broken replay misses far more).
# Returns (rows checked, rows missed).
sub exact_match_ok {
    my ($node, $db, $table, $col, $op, $where, $index, $label) = @_;
    my $missed = $node->safe_psql($db, "SET enable_seqscan = off; SET hnsw.ef_search = 1000;
        SELECT q.ctid FROM $table q WHERE $where AND (SELECT i.id FROM $table i ORDER BY i.$col $op q.$col LIMIT 1) <> q.id");
    my $n = $node->safe_psql($db, "SELECT count(*) FROM $table q WHERE $where");
    my %unreachable;
    $unreachable{$_} = 1 for $node->safe_psql($db, "SELECT detail FROM vecdb_index_check('$index', false)
        WHERE kind = 'unreachable'") =~ /heap tid (\(\d+,\d+\))/g;
    my @missed = split /\n/, $missed;
    my $on_unreachable = grep { $unreachable{$_} } @missed;
    cmp_ok(scalar(@missed), '<=', 0.005 * $n, "$label: exact-match lookups through $index find at least 99.5% of $n rows")
        or diag(scalar(@missed) . " missed, $on_unreachable of them on nodes the checker reports unreachable");
    is($on_unreachable, 0, "$label: no row missed because its node is stranded (unreachable)");
    note("exact-match: $label: " . scalar(@missed) . " of $n rows missed through $index");
    return ($n, scalar @missed);
}

# PID of a running node's postmaster (first line of postmaster.pid).
sub postmaster_pid {
    my ($node) = @_;
    open(my $fh, '<', $node->data_dir . '/postmaster.pid') or die "postmaster.pid: $!";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    return $pid;
}

# Sets the postmaster's soft RLIMIT_FSIZE (bytes, or 'unlimited'): every
# process it forks from now on (new connections, parallel workers, autovacuum)
# gets "could not extend file ...: File too large" (EFBIG) when it writes past
# that offset in any file, as on a full disk. The postmaster ignores SIGXFSZ,
# so the write fails instead of killing the process. Processes already
# running (checkpointer, WAL writer, open sessions) keep their limit. Only the
# soft limit changes, so it can be raised again without privileges. Keep the
# limit above the 16 MB WAL segments: backends write WAL too.
sub set_file_size_limit {
    my ($node, $bytes) = @_;
    my $pid = postmaster_pid($node);
    system('prlimit', '--pid', $pid, "--fsize=$bytes:") == 0
        or die "prlimit --pid $pid --fsize=$bytes: failed (util-linux prlimit is needed)";
    return $pid;
}

# A psql running $sql in the background against $node (script and output in
# files under the node's base directory, so no pumping is needed); returns
# the IPC::Run harness and the output file's name.
my $background_count = 0;
sub background_psql_file {
    my ($node, $sql) = @_;
    $background_count++;
    my $script = $node->basedir . "/bg_$background_count.sql";
    my $outfile = $node->basedir . "/bg_$background_count.out";
    open(my $fh, '>', $script) or die "$script: $!";
    print $fh $sql;
    close $fh;
    my $h = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('postgres'), '-f', $script ],
        '>', $outfile, '2>&1', IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
    return ($h, $outfile);
}

1;
