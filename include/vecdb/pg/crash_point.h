// Crash points: named places between two WAL records of a multi-record index
// change (an insert's node and its back links, a merge's reservation, a
// vacuum's passes) where a test can make this backend die as if the machine
// had stopped there. `SET vecdb.crash_point = 'name'` (or 'name:N', the Nth
// time this backend passes it) is superuser-only; with it unset a point
// costs one load and a branch. Everything logged before the point is flushed
// first, so recovery replays exactly the records written up to it.
// test/t/110_crash_points.pl crashes at each point and checks the index.
#pragma once

namespace vecdb::pg {

extern char* crash_point_setting;  // vecdb.crash_point

void define_crash_point_setting();
void crash_point_passed(const char* name);  // dies if name is the armed point

inline void crash_point(const char* name) {
    if (crash_point_setting != nullptr && crash_point_setting[0] != '\0') crash_point_passed(name);
}

}  // namespace vecdb::pg
