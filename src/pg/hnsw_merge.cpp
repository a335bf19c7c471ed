// Merging the hnsw pending list into the graph, and who does it: the
// background worker that inserts launch, an insert over the limit
// (back-pressure, hnsw_pending.cpp), VACUUM, vecdb_hnsw_merge_pending().
// One merger per lane at a time (hnsw_pending.h: four lanes, so the worker
// and inserts under back-pressure link side by side, each marking the node it
// links); VACUUM and the SQL function take every lane.
//
// Per entry, each step one GenericXLog record (at most the node's own pages:
// no record grows because of the pending list):
//   (a) reserve: the entry records the slot it becomes (state linking);
//   (b) write the node into that slot (graph_insert, hnsw_insert.cpp);
//   (c) back-links;
//   (d) mark the entry merged.
// A crash after (a) leaves the entry `linking`: the next merger looks at the
// recorded slot; if it holds this heap TID the node was written and it only
// redoes the back-links (idempotent: a list that names the node is left as
// is), else it reserves again. A second node for the same row can never
// appear: nodes are only written into the slot the entry names. Until (d)
// scans return the row from the entry (exactly) and skip a graph node with
// its TID, so a half-linked node costs nothing; after (d) the node has all
// its back-links. Fully merged pages leave the list from the head
// (hnsw_pending.cpp explains why concurrent scans are safe).
#include <algorithm>

#include "vecdb/pg/crash_point.h"
#include "vecdb/pg/hnsw_pending.h"

extern "C" {
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/indexfsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace vecdb::pg::hnsw {

bool background_merge_setting = true;

namespace {

void set_entry(Relation index, const Geometry& g, BlockNumber blk, std::uint32_t i, std::uint8_t state, NodeId node) {
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState* x = GenericXLogStart(index);
    PendingEntry* e = pending_entry(GenericXLogRegisterBuffer(x, buf, 0), g, i);
    e->state = state;
    e->node = node;
    GenericXLogFinish(x);
    UnlockReleaseBuffer(buf);
}

struct Reservation {
    Relation index;
    const Geometry* g;
    BlockNumber blk;
    std::uint32_t i;
    NodeId marked;  // the node this merger marks as being linked
};

// The node is marked before its slot is recorded and written: no list can
// name it before other lanes can see the mark (hnsw_pending.h).
void reserve_slot(void* arg, NodeId id) {
    Reservation* r = static_cast<Reservation*>(arg);
    if (r->marked != id) {
        if (r->marked != kNoNode) unmark_node(r->index, *r->g, r->marked);
        mark_node(r->index, *r->g, id);
        r->marked = id;
    }
    set_entry(r->index, *r->g, r->blk, r->i, kPendingLinking, id);
    crash_point("hnsw_merge_reserved");
}

// Takes the head page off the list if every entry on it is merged: the tail
// is emptied in place, any other page becomes free. False when entries were
// appended meanwhile. *freed: the page went to the FSM.
bool reclaim_head(Relation index, const Geometry& g, BlockNumber blk, bool* freed) {
    *freed = false;
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    if (page_meta(BufferGetPage(metabuf))->pending_head != blk) {
        UnlockReleaseBuffer(metabuf);
        return true;
    }
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    const PendingPageHeader* h = pending_header(page);
    const std::uint32_t n = h->n_entries;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (pending_entry(page, g, i)->state != kPendingMerged) {
            UnlockReleaseBuffer(buf);
            UnlockReleaseBuffer(metabuf);
            return false;
        }
    }
    const BlockNumber next = h->next;
    GenericXLogState* x = GenericXLogStart(index);
    MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, metabuf, 0));
    m->pending_count -= std::min<std::uint64_t>(m->pending_count, n);
    if (next == InvalidBlockNumber) {
        pending_header(GenericXLogRegisterBuffer(x, buf, 0))->n_entries = 0;
    } else {
        init_pending_page(GenericXLogRegisterBuffer(x, buf, GENERIC_XLOG_FULL_IMAGE), true);
        m->pending_head = next;
        *freed = true;
    }
    GenericXLogFinish(x);
    UnlockReleaseBuffer(buf);
    UnlockReleaseBuffer(metabuf);
    if (*freed) RecordFreeIndexPage(index, blk);
    crash_point("hnsw_merge_reclaimed");
    return true;
}

}  // namespace

// Walks the chain from the head. A page it moves to through a copy's link
// may have left the list since (another lane merged its last entries):
// a page of pending kind is on the list (a page is only ever made pending
// when it is linked in), its entries are real, and an entry this lane has
// not merged keeps its page on the list, so writing that entry is safe.
// A page of another kind ends the walk.
std::int64_t merge_pending(Relation index, int lane, std::int64_t max_entries, IndexBulkDeleteCallback dead,
                           void* dead_state) {
    MetaPage meta;
    read_meta(index, &meta);
    if (meta.pending_head == InvalidBlockNumber || meta.dim == 0) return 0;
    Geometry g;
    geometry_from_meta(&meta, g);
    char* copy = static_cast<char*>(palloc(BLCKSZ));
    std::int64_t done = 0;
    bool freed_any = false;
    BlockNumber blk = meta.pending_head;
    std::uint32_t from = 0;  // entries of blk before this were handled
    while (blk != InvalidBlockNumber) {
        Buffer buf = ReadBuffer(index, blk);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        std::memcpy(copy, BufferGetPage(buf), BLCKSZ);
        UnlockReleaseBuffer(buf);
        Page page = reinterpret_cast<Page>(copy);
        if (page_opaque(page)->kind != kPagePending) {
            if (blk != meta.pending_head) break;
            const BlockNumber old_head = blk;
            read_meta(index, &meta);  // another lane reclaimed the head we started from?
            if (meta.pending_head != old_head) {
                blk = meta.pending_head;
                continue;
            }
            ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                            errmsg("hnsw index \"%s\": pending list head %u is not a pending page",
                                   RelationGetRelationName(index), blk)));
        }
        const std::uint32_t n = pending_header(page)->n_entries;
        if (n == 0) break;  // the tail, emptied
        bool stopped = false;
        for (std::uint32_t i = from; i < n; ++i) {
            if (lane != kAllLanes && static_cast<int>(i % kMergeLanes) != lane) continue;
            PendingEntry* e = pending_entry(page, g, i);
            if (e->state == kPendingMerged) continue;
            if (max_entries >= 0 && done >= max_entries) {
                stopped = true;
                break;
            }
            CHECK_FOR_INTERRUPTS();
            if (dead == nullptr || !dead(&e->tid, dead_state)) {
                Reservation r{index, &g, blk, i, kNoNode};
                // A resumed entry's node (written before a crash) is marked
                // again before its lists are touched.
                if (e->state == kPendingLinking && e->node != kNoNode) {
                    mark_node(index, g, e->node);
                    r.marked = e->node;
                }
                const bool reachable = graph_insert(index, pending_vector(e), &e->tid, reserve_slot, &r,
                                                    e->state == kPendingLinking ? e->node : kNoNode);
                if (r.marked != kNoNode) unmark_node(index, g, r.marked);
                // Every in-edge it could get was blocked by other mergers'
                // marks: the entry stays `linking` (scans still return the
                // row from it) and a later merge redoes its back-links.
                if (!reachable) continue;
                crash_point("hnsw_merge_linked");
            }
            set_entry(index, g, blk, i, kPendingMerged, kNoNode);
            ++done;
        }
        if (stopped) break;
        // Our part of this page is merged. Reclaim it if it is the head and
        // every lane is done with it; entries appended meanwhile (the tail)
        // are handled by going over the page again from n.
        bool freed;
        if (!reclaim_head(index, g, blk, &freed)) {
            Buffer b = ReadBuffer(index, blk);
            LockBuffer(b, BUFFER_LOCK_SHARE);
            const Page p = BufferGetPage(b);
            const bool grown = page_opaque(p)->kind == kPagePending && pending_header(p)->n_entries > n;
            UnlockReleaseBuffer(b);
            if (grown) {
                from = n;
                continue;
            }
        }
        freed_any |= freed;
        if (!freed && max_entries >= 0 && done >= max_entries) break;
        blk = pending_header(page)->next;
        from = 0;
    }
    pfree(copy);
    if (freed_any) IndexFreeSpaceMapVacuum(index);
    return done;
}

namespace {

// Opens the index of a merge outside an index scan (worker, SQL function):
// the table first with RowExclusiveLock, as DML does, so that
// vecdb_index_check's ShareLock sees no merge at work. Null when gone.
Relation open_for_merge(Oid indexoid, Relation* heap, bool missing_ok) {
    const Oid heapoid = IndexGetRelation(indexoid, true);
    if (!OidIsValid(heapoid)) {
        if (missing_ok) return nullptr;
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", get_rel_name(indexoid))));
    }
    *heap = try_relation_open(heapoid, RowExclusiveLock);
    if (*heap == nullptr) return nullptr;
    Relation index = try_relation_open(indexoid, RowExclusiveLock);
    if (index == nullptr || index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == nullptr ||
        index->rd_indam->aminsert != vecdb_hnsw_insert || IndexGetRelation(indexoid, true) != heapoid) {
        if (index != nullptr) relation_close(index, RowExclusiveLock);
        relation_close(*heap, RowExclusiveLock);
        if (missing_ok) return nullptr;
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not an hnsw index", get_rel_name(indexoid))));
    }
    return index;
}

BackgroundWorkerHandle* worker_handle = nullptr;
Oid worker_index = InvalidOid;
TimestampTz last_launch = 0;

}  // namespace

// Launches the background merger for this index unless one is at work (or
// this backend started one that still runs). No free worker slot: nothing
// happens; back-pressure and VACUUM still merge.
void launch_merger(Relation index, std::uint64_t count, std::uint64_t threshold) {
    if (!background_merge_setting || count < threshold || !IsUnderPostmaster) return;
    // The worker sees committed catalogs only: an index created or given a
    // new relfilenode in this transaction is not (yet) the one it would open.
    if (RelationUsesLocalBuffers(index) || index->rd_createSubid != InvalidSubTransactionId ||
        index->rd_firstRelfilenodeSubid != InvalidSubTransactionId)
        return;
    const Oid oid = RelationGetRelid(index);
    if (worker_handle != nullptr) {
        pid_t pid;
        const BgwHandleStatus st = GetBackgroundWorkerPid(worker_handle, &pid);
        if ((st == BGWH_STARTED || st == BGWH_NOT_YET_STARTED) && worker_index == oid) return;
        if (st == BGWH_STOPPED || st == BGWH_POSTMASTER_DIED) {
            pfree(worker_handle);
            worker_handle = nullptr;
        }
    }
    const TimestampTz now = GetCurrentTimestamp();
    if (now - last_launch < 50 * 1000) return;  // at most 20 launches a second
    const int free_lane = lane_lock_any(index, 0);
    if (free_lane < 0) return;  // every lane has a merger at work
    lane_unlock(index, free_lane);
    const int slot = worker_slot_take(index);
    if (slot < 0) return;  // enough workers at work
    worker_slot_release(index, slot);
    BackgroundWorker w;
    std::memset(&w, 0, sizeof(w));
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;
    ::snprintf(w.bgw_library_name, BGW_MAXLEN, "vecdb");
    ::snprintf(w.bgw_function_name, BGW_MAXLEN, "vecdb_hnsw_merge_worker");
    ::snprintf(w.bgw_name, BGW_MAXLEN, "vecdb hnsw merge %u", oid);
    ::snprintf(w.bgw_type, BGW_MAXLEN, "vecdb hnsw merge");
    w.bgw_main_arg = ObjectIdGetDatum(oid);
    std::memcpy(w.bgw_extra, &MyDatabaseId, sizeof(Oid));
    w.bgw_notify_pid = 0;
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    BackgroundWorkerHandle* h = nullptr;
    const bool ok = RegisterDynamicBackgroundWorker(&w, &h);
    MemoryContextSwitchTo(old);
    last_launch = now;
    if (!ok) return;
    if (worker_handle != nullptr) pfree(worker_handle);
    worker_handle = h;
    worker_index = oid;
}

}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;

// The background merger: short transactions, each merging up to a few
// hundred entries of every lane, until a round finds nothing to do (the
// list is empty), the index is gone, or kMergeWorkers other workers are at
// work on it. Runs as the bootstrap superuser (no role login check); it
// only merges the one index it was launched for.
extern "C" PGDLLEXPORT void vecdb_hnsw_merge_worker(Datum arg) {
    const Oid indexoid = DatumGetObjectId(arg);
    Oid dboid;
    std::memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
    pgstat_report_appname("vecdb hnsw merge");
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        pgstat_report_activity(STATE_RUNNING, "merging an hnsw pending list");
        bool more = false;
        Relation heap;
        Relation index = open_for_merge(indexoid, &heap, true);
        const int slot = index != nullptr ? worker_slot_take(index) : -1;
        if (slot >= 0) {
            // Free lanes first, then wait for the busy ones (an insert
            // under back-pressure holds one for a page's worth): a worker
            // that left while another merger held a lane would leave that
            // lane's entries waiting for the next launch, which only comes
            // with the next insert.
            bool busy[kMergeLanes];
            for (int lane = 0; lane < kMergeLanes; ++lane) {
                busy[lane] = !lane_lock_conditional(index, lane);
                if (busy[lane]) continue;
                more |= merge_pending(index, lane, 200, nullptr, nullptr) > 0;
                lane_unlock(index, lane);
            }
            for (int lane = 0; lane < kMergeLanes; ++lane) {
                if (!busy[lane]) continue;
                lane_lock(index, lane);
                more |= merge_pending(index, lane, 200, nullptr, nullptr) > 0;
                lane_unlock(index, lane);
            }
            worker_slot_release(index, slot);
        }
        if (index != nullptr) {
            relation_close(index, RowExclusiveLock);
            relation_close(heap, RowExclusiveLock);
        }
        CommitTransactionCommand();
        pgstat_report_activity(STATE_IDLE, nullptr);
        if (!more) break;
    }
    proc_exit(0);
}

// vecdb_hnsw_merge_pending(index regclass) RETURNS bigint: merges the whole
// pending list now (waits for a merger at work); the index's owner only.
VECDB_FUNCTION(vecdb_hnsw_merge_pending) {
    const Oid indexoid = PG_GETARG_OID(0);
    if (RecoveryInProgress())
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("recovery is in progress"),
                        errhint("hnsw pending lists cannot be merged during recovery.")));
    Relation heap;
    Relation index = open_for_merge(indexoid, &heap, false);
    if (RELATION_IS_OTHER_TEMP(index))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot access temporary indexes of other sessions")));
    if (!pg_class_ownercheck(indexoid, GetUserId()))
        aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, RelationGetRelationName(index));
    merge_lock(index);
    const std::int64_t n = merge_pending(index, kAllLanes, -1, nullptr, nullptr);
    merge_unlock(index);
    relation_close(index, RowExclusiveLock);
    relation_close(heap, RowExclusiveLock);
    PG_RETURN_INT64(n);
}

// vecdb_hnsw_pending_count(index regclass) RETURNS bigint: entries not yet
// merged.
VECDB_FUNCTION(vecdb_hnsw_pending_count) {
    const Oid indexoid = PG_GETARG_OID(0);
    Relation index = relation_open(indexoid, AccessShareLock);
    if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == nullptr ||
        index->rd_indam->aminsert != vecdb_hnsw_insert)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
    if (RELATION_IS_OTHER_TEMP(index))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot access temporary indexes of other sessions")));
    const std::int64_t n = pending_live_count(index);
    relation_close(index, AccessShareLock);
    PG_RETURN_INT64(n);
}
