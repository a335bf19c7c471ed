# A node with vecdb: create the extension, store and query vectors, restart
# (plain and with shared_preload_libraries), and find everything again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION vecdb');
$node->safe_psql('postgres', q{
    CREATE TABLE items (id int PRIMARY KEY, v vector(3), h halfvec(3));
    INSERT INTO items
    SELECT i, format('[%s,%s,%s]', i, i % 7, -i)::vector,
              format('[%s,%s,%s]', i, i % 7, -i)::halfvec
    FROM generate_series(1, 1000) i;
});

# Row i is [i, i%7, -i]: row 10 is the query itself, rows 9 and 11 are next
# (distance sqrt(3) each), then 8 and 12.
my $nearest = q{SELECT string_agg(id::text, ',') FROM
    (SELECT id FROM items ORDER BY v <-> '[10,3,-10]', id LIMIT 5) s};
my $nearest_half = q{SELECT string_agg(id::text, ',') FROM
    (SELECT id FROM items ORDER BY h <-> '[10,3,-10]', id LIMIT 5) s};
my $totals = q{SELECT count(*), sum(v), avg(h) FROM items};

is($node->safe_psql('postgres', $nearest), '10,9,11,8,12', 'L2 nearest neighbours (vector)');
is($node->safe_psql('postgres', $nearest_half), '10,9,11,8,12', 'L2 nearest neighbours (halfvec)');
is($node->safe_psql('postgres', q{SELECT '[1,2,3]'::vector <#> '[4,5,6]', '[1,0]'::vector <=> '[0,1]',
                                         '[1,2,3]'::vector <+> '[4,5,6]'}),
   '-32|1|9', 'inner product, cosine and L1 operators');
my $before = $node->safe_psql('postgres', $totals);
# sum(i % 7) over 1..1000 = 142 * 21 + 21; avg(h) is rounded to float16.
is($before, '1000|[500500,3003,-500500]|[500.5,3.004,-500.5]', 'count, sum and avg over the table');

$node->restart;
is($node->safe_psql('postgres', $nearest), '10,9,11,8,12', 'same neighbours after a restart');
is($node->safe_psql('postgres', $totals), $before, 'same totals after a restart');

# The module must also load at server start, and its setting be settable in
# postgresql.conf.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vecdb'\nvecdb.simd_path = 'scalar'\n");
$node->restart;
is($node->safe_psql('postgres', 'SHOW vecdb.simd_path'), 'scalar', 'vecdb.simd_path from postgresql.conf');
is($node->safe_psql('postgres', $nearest), '10,9,11,8,12', 'same neighbours with the scalar kernels, preloaded');

$node->stop;
done_testing();
