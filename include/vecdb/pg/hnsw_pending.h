// The hnsw pending list: aminsert appends (vector, heap TID) to a chain of
// pending pages, scans score every pending entry exactly and merge them into
// the graph's stream, and mergers (a background worker, inserts over the
// limit, VACUUM, vecdb_hnsw_merge_pending()) link entries into the graph,
// one per merge lane at a time. docs/hnsw.md "Pending list" has the design and
// the arguments.
//
// Pending page (kind kPagePending), slot area:
//   PendingPageHeader | PendingEntry + vector | PendingEntry + vector | ...
// Entry states: new -> linking (node id reserved, maybe written, maybe
// partly linked) -> merged. An entry is returned by scans (exactly) until it
// is merged, and a scan skips graph rows whose TID it holds as pending.
#pragma once
#include "vecdb/pg/hnsw.h"

namespace vecdb::pg::hnsw {

struct PendingPageHeader {
    BlockNumber next;          // InvalidBlockNumber: the tail
    std::uint16_t n_entries;   // entries written on this page
    std::uint16_t unused;
};

enum PendingState : std::uint8_t { kPendingNew = 0, kPendingLinking = 1, kPendingMerged = 2 };

struct PendingEntry {
    ItemPointerData tid;
    std::uint8_t state;  // PendingState
    std::uint8_t unused;
    NodeId node;          // kPendingLinking: the slot this entry becomes
    std::uint32_t unused2;
    // the vector (index form) follows
};
static_assert(sizeof(PendingEntry) == 16, "pending entry header is 16 bytes");

inline std::size_t pending_entry_bytes(const Geometry& g) { return MAXALIGN(sizeof(PendingEntry) + g.vec_bytes); }
inline std::uint32_t pending_per_page(const Geometry& g) {
    return static_cast<std::uint32_t>((kAreaBytes - MAXALIGN(sizeof(PendingPageHeader))) / pending_entry_bytes(g));
}
inline PendingPageHeader* pending_header(Page page) {
    return reinterpret_cast<PendingPageHeader*>(reinterpret_cast<char*>(page) + kAreaStart);
}
inline PendingEntry* pending_entry(Page page, const Geometry& g, std::uint32_t i) {
    return reinterpret_cast<PendingEntry*>(reinterpret_cast<char*>(page) + kAreaStart +
                                           MAXALIGN(sizeof(PendingPageHeader)) + i * pending_entry_bytes(g));
}
inline char* pending_vector(PendingEntry* e) { return reinterpret_cast<char*>(e) + sizeof(PendingEntry); }
void init_pending_page(Page page, bool free_page);

extern bool background_merge_setting;  // hnsw.background_merge

// Whether inserts into this index go to the pending list (limit > 0,
// single-block slots, classic or packed, and an entry fits a page; slots
// spanning several blocks insert into the graph directly).
bool pending_usable(Relation index, const Geometry& g);
// aminsert's common case: one GenericXLog record. Back-pressure and the
// background merger launch happen here too.
void pending_insert(Relation index, const Geometry& g, const char* vec, ItemPointer tid);

// Merge lanes: entry i of every pending page belongs to lane i % kMergeLanes,
// and only the holder of a lane's lock (a heavyweight page lock on block
// `lane`; buffer locks are independent of it) changes that lane's entries,
// so mergers of different lanes link rows side by side while an entry still
// has exactly one merger, which a crash-resumed `linking` entry relies on.
// merge_lock takes every lane (in order): VACUUM and vecdb_hnsw_merge_pending.
// Two linkers at once would race like concurrent direct inserts (a stranded
// node was found that way); being-linked marks rule that out. A merger holds
// a mark on the node it links from the slot reservation (before the node
// exists, so before any list can name it) until its lists are written: a
// heavyweight tuple lock on (block, slot + 1) of the index, i.e. in shared
// memory, released at once after the node or by the end of the transaction
// (a crash leaves none behind). Another linker neither changes the lists of a
// marked node nor drops it from a list it re-selects (hnsw_insert.cpp, rules
// 1 and 2); it asks with a conditional share lock, never waiting.
constexpr int kMergeLanes = 4;
void mark_node(Relation index, const Geometry& g, NodeId id);
void unmark_node(Relation index, const Geometry& g, NodeId id);
bool marked_by_other(Relation index, const Geometry& g, NodeId id);
constexpr int kAllLanes = -1;
void merge_lock(Relation index);
void merge_unlock(Relation index);
void lane_lock(Relation index, int lane);
bool lane_lock_conditional(Relation index, int lane);
void lane_unlock(Relation index, int lane);
// A lane taken without waiting, trying from `first` on; -1 when all are busy.
int lane_lock_any(Relation index, int first);
// Background merge workers per index at once: a worker holds one of these
// (page-lock tags on blocks kMergeLanes ..) through each round and leaves
// when none is free, so many inserting sessions do not fill
// max_worker_processes with merge workers waiting on each other's lanes.
constexpr int kMergeWorkers = 1;
int worker_slot_take(Relation index);  // -1: all taken
void worker_slot_release(Relation index, int slot);

// Links up to max_entries pending entries of `lane` (kAllLanes: of every
// lane; the caller holds the lane's lock, or all of them) into the graph
// (all when max_entries < 0) and reclaims fully merged pages at the head.
// Entries whose heap TID `dead` reports dead are dropped unlinked (VACUUM).
// Returns the number of entries taken off the list.
std::int64_t merge_pending(Relation index, int lane, std::int64_t max_entries, IndexBulkDeleteCallback dead,
                           void* dead_state);
// Unmerged entries (walks the chain).
std::int64_t pending_live_count(Relation index);

// From hnsw_insert.cpp: links one vector into the graph. With `reserve`, the
// node's slot is first recorded through reserve(arg, id) (the pending entry)
// and the node is written only into a recorded slot; `resume` names a slot
// recorded earlier (a merge cut off by a crash): if it already holds `tid`,
// only the back-links are (re)done.
using ReserveFn = void (*)(void* arg, NodeId id);
// Returns whether the node got a level-0 in-edge (or is the only node): a
// merger leaves an entry whose node did not `linking`, for a later merge.
bool graph_insert(Relation index, const char* vec, ItemPointer tid, ReserveFn reserve, void* arg, NodeId resume);

// Scans (hnsw_pending.cpp): the pending entries of one scan.
struct PendingScan;
// Loads the entries (distances to `query` when not null, sorted), or sets
// *ps to null when there are none. Allocates in the current context.
void pending_scan_load(Relation index, const Geometry& g, const char* query, PendingScan** ps);
// Next row of the merged stream: pending entries and the graph's rows
// (next_graph fills scan->xs_heaptid / xs_orderbyvals), in distance order;
// graph rows whose TID is pending are skipped (the entry is returned).
using GraphNextFn = bool (*)(IndexScanDesc scan, void* arg);
bool pending_scan_next(IndexScanDesc scan, PendingScan* ps, const DistanceReport& report, GraphNextFn next_graph, void* arg,
                       bool unordered, bool null_query);

}  // namespace vecdb::pg::hnsw

// Background merger entry point (bgw_function_name).
extern "C" PGDLLEXPORT void vecdb_hnsw_merge_worker(Datum arg);
