// GraphBuilder::build: linking nodes into the graph, on one or more threads.
//
// Each node is inserted as in the HNSW paper: greedy descent through the
// levels above its own, then per level a beam search (search_layer, beam
// ef_construction) whose result is pruned by select_neighbors to the node's
// new list; every chosen neighbour gets a back link, re-pruned when its list
// is full. With threads > 1 each node's lists are guarded by a spin lock
// (readers copy a list under it, writers hold it while they rewrite); the
// entry point changes under a mutex. With one thread no lock is taken and the
// result depends only on the seed.
//
// After insertion: every list is sorted nearest-first, and level 0 is checked
// for nodes the entry point cannot reach, which get linked to their nearest
// reachable nodes.
#include "vecdb/core/no_postgres.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "hnsw_builder_impl.h"
#include "hnsw_select_impl.h"

namespace vecdb::core::hnsw {

using Impl = GraphBuilder::Impl;

namespace {

// Back-link pruning fills a full list only to 3/4 of its cap: the next
// quarter of back links are then plain appends instead of a re-prune each.
constexpr int kRefillNum = 3, kRefillDen = 4;

// ---- distances between stored nodes --------------------------------------

struct ExactDist {
    const Impl& g;
    DistFn fn;
    std::size_t dim;
    float operator()(NodeId a, NodeId b) const noexcept { return fn(g.vec(a), g.vec(b), dim); }
};

struct Int8Dist {
    enum Kind { L2, Dot, Cos, L1 };
    const Impl& g;
    detail::Int8Kernels k;
    Kind kind;
    std::size_t dim;
    float operator()(NodeId a, NodeId b) const noexcept {
        const std::uint8_t* x = g.vec(a);
        const std::uint8_t* y = g.vec(b);
        switch (kind) {
            case L2: return ordered_distance(k.wl2(x, y, g.codec.step_sq.data(), dim));
            case L1: return ordered_distance(k.wl1(x, y, g.codec.step.data(), dim));
            case Dot:
            case Cos: {
                const float d = g.codec.lo_sq_sum + g.code_bias[a] + g.code_bias[b] +
                                k.wdot(x, y, g.codec.step_sq.data(), dim);
                return ordered_distance(kind == Dot ? -d : 1.0f - d);
            }
        }
        return 0;
    }
};

// ---- per-thread state ----------------------------------------------------

struct Scratch {
    VisitedSet visited;
    std::vector<Candidate> beam, frontier, entries, cands;
    std::vector<NodeId> copy, todo, chosen;
    std::vector<int> pruned;

    explicit Scratch(const Impl& g) {
        visited.reset(g.n);
        const std::size_t ef = std::size_t(g.params.ef_construction);
        beam.reserve(ef + 1);
        frontier.reserve(ef * 4);
        entries.reserve(ef + 1);
        cands.reserve(std::size_t(g.m0) + 1);
        copy.resize(std::size_t(g.m0) + 1);
        todo.resize(std::size_t(g.m0) + 1);
        chosen.resize(std::max<std::size_t>(std::size_t(g.m0), ef) + 1);
    }
    std::size_t bytes() const noexcept {
        return visited.capacity() * 4 +
               (beam.capacity() + frontier.capacity() + entries.capacity() + cands.capacity()) *
                   sizeof(Candidate) +
               (copy.size() + todo.size() + chosen.size()) * 4 + pruned.capacity() * 4;
    }
};

// ---- insertion -----------------------------------------------------------

template <class Dist, bool kConcurrent>
class Inserter {
public:
    Inserter(Impl& g, const Dist& dist, Scratch& s) : g_(g), dist_(dist), s_(s) {}

    // The list of `node` at `level`: the live array when alone, else a copy
    // taken under the node's lock.
    int links(NodeId node, int level, const NodeId*& ids) noexcept {
        const std::uint32_t* l = g_.list(node, level);
        if constexpr (!kConcurrent) {
            ids = l + 1;
            return int(l[0]);
        } else {
            g_.locks[node].lock();
            const int n = int(l[0]);
            std::memcpy(s_.copy.data(), l + 1, std::size_t(n) * 4);
            g_.locks[node].unlock();
            ids = s_.copy.data();
            return n;
        }
    }

    // Expander for search_layer: filter the unvisited neighbours first while
    // prefetching their vectors, then score them.
    struct Expander {
        Inserter& in;
        NodeId query;
        template <class Emit>
        void expand(NodeId node, int level, VisitedSet& v, Emit&& emit) {
            const NodeId* ids;
            const int n = in.links(node, level, ids);
            for (int i = 0; i < n; ++i) v.prefetch(ids[i]);
            NodeId* todo = in.s_.todo.data();
            int t = 0;
            for (int i = 0; i < n; ++i) {
                const NodeId id = ids[i];
                if (!v.test_and_set(id)) {
                    todo[t++] = id;
                    __builtin_prefetch(in.g_.vec(id));
                }
            }
            const std::size_t stride = in.g_.stride;
            for (int k = 0; k < t; ++k) {
                if (k + 1 < t) {
                    const char* p = reinterpret_cast<const char*>(in.g_.vec(todo[k + 1]));
                    for (std::size_t off = 64; off < stride; off += 64) __builtin_prefetch(p + off);
                }
                emit(Candidate{in.dist_(query, todo[k]), todo[k]});
            }
        }
    };

    void insert(NodeId q) {
        const int lq = g_.levels[q];
        std::unique_lock<std::mutex> top(g_.entry_mutex);
        const NodeId ep = g_.entry;
        const int max_level = g_.max_level;
        if (lq <= max_level) top.unlock();  // only a new top node keeps it

        NodeId cur = ep;
        float d = dist_(q, cur);
        for (int l = max_level; l > lq; --l) {  // greedy descent
            bool moved = true;
            while (moved) {
                moved = false;
                const NodeId* ids;
                const int n = links(cur, l, ids);
                for (int i = 0; i < n; ++i) {
                    const float dd = dist_(q, ids[i]);
                    if (dd < d) {
                        d = dd;
                        cur = ids[i];
                        moved = true;
                    }
                }
            }
        }

        s_.entries.clear();
        s_.entries.push_back(Candidate{d, cur});
        Expander ex{*this, q};
        const std::size_t ef = std::size_t(g_.params.ef_construction);
        for (int l = std::min(lq, max_level); l >= 0; --l) {
            s_.visited.reset(g_.n);
            s_.visited.test_and_set(q);
            for (const Candidate& c : s_.entries) s_.visited.test_and_set(c.id);
            search_layer(ex, s_.entries.data(), s_.entries.size(), l, ef, s_.visited, s_.beam, nullptr,
                         s_.frontier);
            link(q, l);
            s_.entries.swap(s_.beam);  // the whole beam seeds the next level down
        }

        if (lq > max_level) {
            g_.entry = q;
            g_.max_level = lq;
        }
    }

private:
    void link(NodeId q, int l) {
        auto pair = [this](NodeId a, NodeId b) { return dist_(a, b); };
        NodeId* chosen = s_.chosen.data();
        // Like the paper, a new node starts with m links on every level; back
        // links can grow level 0 to 2m.
        const int n = detail::select_neighbors_impl(s_.beam.data(), int(s_.beam.size()), g_.m, g_.m,
                                                    pair, chosen, s_.pruned);
        const int cap = l == 0 ? g_.m0 : g_.m;
        {
            std::uint32_t* lst = g_.list(q, l);
            if constexpr (kConcurrent) {
                // Another thread may already have linked to q on this level
                // (it reached q through a level above and carried it down as
                // an entry): keep its links and add ours.
                g_.locks[q].lock();
                int cnt = int(lst[0]);
                for (int i = 0; i < n && cnt < cap; ++i) {
                    bool present = false;
                    for (int j = 0; j < cnt && !present; ++j) present = lst[1 + j] == chosen[i];
                    if (!present) lst[1 + cnt++] = chosen[i];
                }
                lst[0] = std::uint32_t(cnt);
                g_.locks[q].unlock();
            } else {
                std::memcpy(lst + 1, chosen, std::size_t(n) * 4);
                lst[0] = std::uint32_t(n);
            }
        }
        // `chosen` is reused by back_link's pruning; the beam still holds the
        // distances, but the chosen ids must survive: copy them first.
        NodeId mine[256];
        std::vector<NodeId> big;
        NodeId* ids = mine;
        if (n > 256) {
            big.assign(chosen, chosen + n);
            ids = big.data();
        } else {
            std::memcpy(mine, chosen, std::size_t(n) * 4);
        }
        for (int i = 0; i < n; ++i) back_link(ids[i], q, l, cap);
    }

    void back_link(NodeId s, NodeId q, int l, int cap) {
        std::uint32_t* lst = g_.list(s, l);
        if constexpr (kConcurrent) g_.locks[s].lock();
        const int n = int(lst[0]);
        if constexpr (kConcurrent) {  // see link(): q may be there already
            for (int i = 0; i < n; ++i)
                if (lst[1 + i] == q) {
                    g_.locks[s].unlock();
                    return;
                }
        }
        if (n < cap) {
            lst[1 + n] = q;
            lst[0] = std::uint32_t(n + 1);
        } else {
            s_.cands.clear();
            for (int i = 0; i < n; ++i) s_.cands.push_back(Candidate{dist_(s, lst[1 + i]), lst[1 + i]});
            s_.cands.push_back(Candidate{dist_(s, q), q});
            std::sort(s_.cands.begin(), s_.cands.end(),
                      [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; });
            auto pair = [this](NodeId a, NodeId b) { return dist_(a, b); };
            const int fill = std::max(1, cap * kRefillNum / kRefillDen);
            const int k = detail::select_neighbors_impl(s_.cands.data(), int(s_.cands.size()), cap, fill,
                                                        pair, s_.chosen.data(), s_.pruned);
            std::memcpy(lst + 1, s_.chosen.data(), std::size_t(k) * 4);
            lst[0] = std::uint32_t(k);
        }
        if constexpr (kConcurrent) g_.locks[s].unlock();
    }

    Impl& g_;
    const Dist& dist_;
    Scratch& s_;
};

// Sort one node's lists nearest-first.
template <class Dist>
void sort_lists(Impl& g, const Dist& dist, NodeId id, std::vector<Candidate>& tmp) {
    for (int l = 0; l <= g.levels[id]; ++l) {
        std::uint32_t* lst = g.list(id, l);
        const int n = int(lst[0]);
        tmp.clear();
        for (int i = 0; i < n; ++i) tmp.push_back(Candidate{dist(id, lst[1 + i]), lst[1 + i]});
        std::sort(tmp.begin(), tmp.end(), [](const Candidate& a, const Candidate& b) {
            return a.dist < b.dist || (a.dist == b.dist && a.id < b.id);
        });
        for (int i = 0; i < n; ++i) lst[1 + i] = tmp[i].id;
    }
}

// Level-0 reachability from the entry point; links every unreachable node u
// in from a reachable one. Rare with L2, common with inner product on
// vectors of very different norms: a small-norm vector is "far" from
// everything, so re-pruned full lists drop it.
//
// The in-link comes from the nearest reachable nodes with room: those of a
// search for u (it only walks reachable nodes), else their neighbours. When
// all are full, the nearest one f gives up its farthest entry x for u, and u
// links on to x (replacing u's own farthest if u is full): f -> u -> x keeps
// x reachable. So the reachable set only grows, `reached` stays exactly that
// set, and one pass links every node. (Evicting x without the u -> x link
// stranded x; the next unreachable node with the same nearest hub then
// evicted u, and so on, round after round.)
template <class Dist>
void connect_unreachable(Impl& g, const Dist& dist) {
    const std::size_t n = g.n;
    std::vector<std::uint8_t> reached(n, 0);
    std::vector<NodeId> queue;
    auto flood = [&](NodeId from) {
        if (reached[from]) return;
        std::size_t head = queue.size();
        reached[from] = 1;
        queue.push_back(from);
        for (; head < queue.size(); ++head) {
            const std::uint32_t* lst = g.list0(queue[head]);
            for (std::uint32_t i = 0; i < lst[0]; ++i) {
                const NodeId nb = lst[1 + i];
                if (!reached[nb]) {
                    reached[nb] = 1;
                    queue.push_back(nb);
                }
            }
        }
    };
    auto has_room = [&](NodeId id) { return int(g.list0(id)[0]) < g.m0; };
    // Adds id to to's list; a full list gives up its farthest (lists are
    // sorted), which is returned (else kNoNode).
    auto append = [&](NodeId to, NodeId id) -> NodeId {
        std::uint32_t* lst = g.list0(to);
        const int cnt = int(lst[0]);
        for (int i = 0; i < cnt; ++i)
            if (lst[1 + i] == id) return kNoNode;
        if (cnt < g.m0) {
            lst[1 + cnt] = id;
            lst[0] = std::uint32_t(cnt + 1);
            return kNoNode;
        }
        const NodeId out = lst[cnt];
        lst[cnt] = id;
        return out;
    };

    flood(g.entry);
    if (queue.size() == n) return;
    Scratch s(g);
    Inserter<Dist, false> in(g, dist, s);
    typename Inserter<Dist, false>::Expander ex{in, 0};
    const std::size_t ef = std::size_t(std::max(g.params.ef_construction, 2 * g.m));
    for (NodeId u = 0; u < n; ++u) {
        if (reached[u]) continue;
        ex.query = u;
        Candidate start{dist(u, g.entry), g.entry};
        s.visited.reset(n);
        s.visited.test_and_set(u);
        s.visited.test_and_set(g.entry);
        search_layer(ex, &start, 1, 0, ef, s.visited, s.beam, nullptr, s.frontier);
        NodeId from[2];
        int k = 0;
        for (const Candidate& c : s.beam)
            if (k < 2 && has_room(c.id)) from[k++] = c.id;
        for (std::size_t b = 0; k == 0 && b < s.beam.size(); ++b) {
            const std::uint32_t* lst = g.list0(s.beam[b].id);
            for (std::uint32_t i = 0; i < lst[0] && k == 0; ++i)
                if (has_room(lst[1 + i])) from[k++] = lst[1 + i];
        }
        if (k > 0) {
            for (int i = 0; i < k; ++i) append(from[i], u);
            if (has_room(u)) append(u, s.beam.front().id);
        } else {
            from[k++] = s.beam.front().id;
            const NodeId x = append(from[0], u);
            if (x != kNoNode) append(u, x);
        }
        flood(u);
        sort_lists(g, dist, u, s.cands);
        for (int i = 0; i < k; ++i) sort_lists(g, dist, from[i], s.cands);
    }
}

// Runs body(id, scratch) for every id in [first, last) on `threads` threads
// (the caller polls), or on the calling thread when threads <= 1.
template <class Body>
bool run_parallel(Impl& g, int threads, std::size_t first, std::size_t last, Body&& body,
                  const std::function<bool()>& should_stop,
                  const std::function<void(std::size_t)>& progress) {
    if (first >= last) return true;
    if (threads <= 1) {
        Scratch s(g);
        g.scratch_bytes.store(s.bytes(), std::memory_order_relaxed);
        for (std::size_t id = first; id < last; ++id) {
            if (((id - first) & 255) == 0) {
                if (should_stop && should_stop()) return false;
                if (progress) progress(id);
            }
            body(NodeId(id), s);
        }
        if (progress) progress(last);
        g.scratch_bytes.store(0, std::memory_order_relaxed);
        return true;
    }

    std::atomic<std::size_t> next{first}, done{first};
    std::atomic<bool> stop{false};
    std::mutex err_mutex;
    std::exception_ptr err;
    auto worker = [&]() {
        try {
            Scratch s(g);
            g.scratch_bytes.fetch_add(s.bytes(), std::memory_order_relaxed);
            while (!stop.load(std::memory_order_relaxed)) {
                const std::size_t id = next.fetch_add(1, std::memory_order_relaxed);
                if (id >= last) break;
                body(NodeId(id), s);
                done.fetch_add(1, std::memory_order_relaxed);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lk(err_mutex);
            if (!err) err = std::current_exception();
            stop.store(true);
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(std::size_t(threads));
    for (int t = 0; t < threads; ++t) {
        try {
            pool.emplace_back(worker);
        } catch (...) {
            break;  // fewer threads than asked: carry on with those we have
        }
    }
    if (pool.empty()) {
        worker();
    } else {
        bool stopped = false;
        while (done.load(std::memory_order_relaxed) < last && !stop.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (!stopped && should_stop && should_stop()) {
                stop.store(true);
                stopped = true;
            }
            if (progress) progress(done.load(std::memory_order_relaxed));
        }
        for (auto& t : pool) t.join();
    }
    g.scratch_bytes.store(0, std::memory_order_relaxed);
    if (err) std::rethrow_exception(err);
    if (stop.load()) return false;
    if (progress) progress(last);
    return true;
}

template <class Dist>
bool build_with(Impl& g, const Dist& dist, int threads, const std::function<bool()>& should_stop,
                const std::function<void(std::size_t)>& progress) {
    std::size_t first = g.inserted;
    if (g.entry == kNoNode) {  // the first node is alone: no links to make
        g.entry = 0;
        g.max_level = g.levels[0];
        first = 1;
    }
    bool ok;
    if (threads <= 1) {
        ok = run_parallel(
            g, 1, first, g.n,
            [&](NodeId id, Scratch& s) { Inserter<Dist, false>(g, dist, s).insert(id); }, should_stop,
            progress);
    } else {
        ok = run_parallel(
            g, threads, first, g.n,
            [&](NodeId id, Scratch& s) { Inserter<Dist, true>(g, dist, s).insert(id); }, should_stop,
            progress);
    }
    if (!ok) return false;
    g.inserted = g.n;
    // Sorting is cheap next to insertion (one distance per link).
    ok = run_parallel(
        g, threads, 0, g.n, [&](NodeId id, Scratch& s) { sort_lists(g, dist, id, s.cands); }, should_stop,
        nullptr);
    if (!ok) return false;
    connect_unreachable(g, dist);
    return true;
}

}  // namespace

int GraphBuilder::threads_for(int requested) noexcept {
    // More threads than cores only adds preemption inside the per-node spin
    // locks (max_parallel_maintenance_workers = 2 asks for 3 threads).
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores > 0 && requested > static_cast<int>(cores)) return static_cast<int>(cores);
    return std::max(requested, 1);
}

bool GraphBuilder::build(int threads, const std::function<bool()>& should_stop,
                         const std::function<void(std::size_t)>& progress) {
    Impl& g = *impl_;
    g.prepare_links();
    if (g.n == 0) return true;
    threads = threads_for(threads);
    if (g.storage == BuildStorage::Int8) {
        Int8Dist::Kind kind = Int8Dist::L2;
        switch (g.space.metric) {
            case Metric::L2: kind = Int8Dist::L2; break;
            case Metric::InnerProduct: kind = Int8Dist::Dot; break;
            case Metric::Cosine: kind = Int8Dist::Cos; break;
            case Metric::L1: kind = Int8Dist::L1; break;
        }
        const Int8Dist dist{g, detail::int8_kernels(), kind, g.space.dim};
        return build_with(g, dist, threads, should_stop, progress);
    }
    const ExactDist dist{g, g.dist_fn, g.space.dim};
    return build_with(g, dist, threads, should_stop, progress);
}

}  // namespace vecdb::core::hnsw
