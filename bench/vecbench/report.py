"""Result files: JSON (everything), Markdown tables, recall-QPS plots (PNG)."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import measure  # noqa: E402

# Interpolated ratios shown: the targets issue #3 names (glove-100 0.95,
# fashion-mnist 0.97); result.json has them for every target.
INTERPOLATED_SHOWN = (0.95, 0.97)


def _f(x, fmt="%.3f"):
    if x is None:
        return "–"
    if isinstance(x, float) and x != x:
        return "–"
    return fmt % x


def _mb(b):
    return _f(b / 2**20 if b is not None else None, "%.1f")


def plan_text(nodes):
    """Plan shape without the Limit node: 'Index Scan using items_idx', 'Sort > Seq Scan'."""
    return " > ".join(n for n in (nodes or []) if n != "Limit")


def write_json(doc, path):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False, default=float)


def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def markdown(doc, plots):
    env, srv = doc["environment"], doc.get("server", {})
    lines = ["# vecdb benchmark: scenario `%s`" % doc["scenario"], "",
             "Command: `%s`  " % doc["command"],
             "Started %s, took %.0f s. %s" % (doc["started"], doc["seconds"], doc.get("description", "")), "",
             "Environment: %s, %s cores, %s GiB; load average at start %s; %s; git %s%s." % (
                 env["cpu"], env["cores"], env["memory_gib"],
                 " / ".join("%.2f" % x for x in env["load_average"]),
                 (srv.get("version") or "").split(" on ")[0],
                 (env["git"].get("commit") or "?")[:10], " (dirty)" if env["git"].get("dirty") else ""), ""]
    if doc.get("options", {}).get("client"):
        lines += ["Postgres queries timed by: %s (client-side, from sending a query to its last row)." %
                  doc["options"]["client"], ""]
        cpu = doc["options"].get("client_cpu")
        lines += [("Timed passes bound to CPU %d: the client and its backend, and the in-process references' "
                   "searches (`--client-cpu`; bench/README.md says why)." % cpu) if cpu is not None else
                  "Timed passes not bound to a CPU (`--client-cpu any`): client and backend run where the "
                  "scheduler puts them.", ""]
    if srv.get("settings"):
        lines += ["Server settings: " + ", ".join("%s=%s" % kv for kv in sorted(srv["settings"].items())), ""]
    for res in doc["results"]:
        ds = res["dataset"]
        lines += ["## %s" % ds["name"], "",
                  "n = %d, d = %d, %d queries, metric %s. %s" % (ds["n"], ds["d"], ds["nq"], ds["metric"], ds["source"]), ""]
        v = res.get("vecdb", {})
        if v.get("load"):
            lines += ["COPY into an unindexed table: %d rows in %.2f s (%.0f rows/s, %s); table %s MB." % (
                v["load"]["rows"], v["load"]["seconds"], v["load"]["rows_per_s"], v["load"]["format"],
                _mb(v.get("table_bytes"))), ""]
        for k, val in v.items():
            if isinstance(val, dict) and ("skipped" in val or "error" in val):
                lines += ["- `%s`: %s" % (k, val.get("skipped") or val.get("error"))]
        if any(isinstance(val, dict) and ("skipped" in val or "error" in val) for val in v.values()):
            lines.append("")
        runs = res["runs"]
        lines += ["### Build and size", "", _table(
            ["system", "build s", "index MB", "bytes/vector"],
            [[r["label"], _f(r.get("build", {}).get("seconds"), "%.2f"), _mb(r.get("index_bytes")),
              _f(r.get("bytes_per_vector"), "%.0f")] for r in runs if r.get("build")]), ""]
        rows = []
        for r in runs:
            for p in r["points"]:
                st = p.get("scan_stats") or {}
                rows.append([r["label"], "%s=%s" % (r.get("sweep_param") or "", p["param"]) if r.get("sweep_param") else p["param"],
                             _f(p.get("recall@1")), _f(p.get("recall@10")), _f(p.get("recall@100")),
                             _f(p.get("qps"), "%.0f"), _f(p.get("p50_ms"), "%.3f"), _f(p.get("p95_ms"), "%.3f"),
                             _f(p.get("p99_ms"), "%.3f"),
                             _f(p["p99_ms_min"] / p["p50_ms_min"], "%.2f") if p.get("p50_ms_min") else "–",
                             _f(p.get("cpu_us"), "%.0f"), _f(p.get("qps@100"), "%.0f"),
                             _f(p.get("buffers_per_query"), "%.0f"), _f(st.get("distances"), "%.0f"),
                             plan_text(p.get("prepared_plan"))])
        lines += ["### Search (one client, one query at a time, LIMIT 10; recall@100 and QPS@100 from LIMIT 100)", "",
                  "QPS and latencies are of the fastest timed pass; with `--repeat` ≥ 2, *p99/p50 of per-query min* "
                  "takes each query's fastest time over the passes, which filters out pauses of the host "
                  "that hit one pass only. *CPU µs/q*: the CPU time of the process that answers "
                  "(the Postgres backend, or the in-process library) per query over that pass; "
                  "the host's pauses lengthen wall time but not this.", "",
                  _table(["system", "setting", "R@1", "R@10", "R@100", "QPS", "p50 ms", "p95 ms", "p99 ms",
                          "p99/p50 of per-query min", "CPU µs/q", "QPS@100", "buffers/q", "distances/q", "plan (prepared)"], rows), ""]
        if res.get("comparison"):
            lines += ["### vecdb / reference (QPS at equal recall@10)", "",
                      "*best point*: the fastest sweep point of each system that reaches the target; "
                      "*interpolated*: each system's QPS at exactly the target, on the straight line "
                      "(recall, log QPS) between its two sweep points around it.", "",
                      _table(["vecdb", "reference"] + ["best point @%.2f" % t for t in measure.RECALL_TARGETS]
                             + [("interpolated @%.2f" if i == 0 else "@%.2f") % t for i, t in enumerate(INTERPOLATED_SHOWN)]
                             + ["build time ratio", "size ratio"],
                             [[c["vecdb"], c["reference"]]
                              + [_f(c.get("qps_ratio@%.2f" % t), "%.2f") for t in measure.RECALL_TARGETS]
                              + [_f(c.get("qps_ratio_interp@%.2f" % t), "%.2f") for t in INTERPOLATED_SHOWN]
                              + [_f(c["build_ratio"], "%.2f"), _f(c["size_ratio"], "%.2f")]
                              for c in res["comparison"]]), ""]
        for r in runs:
            bv = r.get("build_variants")
            if isinstance(bv, list) and bv:
                lines += ["### Build variants (%s)" % r["label"], "", _table(
                    ["settings", "build s", "index MB"],
                    [[", ".join("%s=%s" % kv for kv in b["settings"].items()) or "cluster defaults (see settings)",
                      _f(b["seconds"], "%.2f"), _mb(b["index_bytes"])] for b in [r["build"]] + bv]), ""]
            ing = r.get("ingest")
            if isinstance(ing, dict) and "preloaded_rows" in ing:
                irows = [[m, _f(ing[m]["rows_per_s"], "%.0f"), _f(ing[m]["seconds"], "%.2f")]
                         for m in ("copy", "insert100") if m in ing]
                # hnsw pending list: when every row was also linked into the graph.
                irows += [[m + ", fully merged", _f(ing[m]["merged_rows_per_s"], "%.0f"),
                           _f(ing[m]["merged_seconds"], "%.2f")]
                          for m in ("copy", "insert100") if m in ing and "merged_seconds" in ing[m]]
                href = [x for x in runs if x["system"] == "hnswlib" and x.get("ingest")]
                if href:
                    irows.append(["hnswlib add_items (1 thread)", _f(href[0]["ingest"]["rows_per_s"], "%.0f"),
                                  _f(href[0]["ingest"]["seconds"], "%.2f")])
                lines += ["### Ingest into an indexed table (%s; %d rows onto an index of %d)" % (
                    r["label"], ing["rows"], ing["preloaded_rows"]), "",
                    _table(["method", "rows/s", "seconds"], irows), ""]
                ra = (ing.get("insert100") or {}).get("recall_after")
                if ra:
                    lines += ["Recall after the INSERTs vs a fresh build:", "", _table(
                        ["setting", "R@10 after inserts", "R@10 fresh build", "QPS after", "QPS fresh"],
                        [[p["param"], _f(p["recall@10"]), _f(p["fresh_recall@10"]), _f(p["qps"], "%.0f"),
                          _f(p["fresh_qps"], "%.0f")] for p in ra]), ""]
            cc = r.get("concurrency")
            if isinstance(cc, dict) and cc.get("points"):
                lines += ["### Concurrent clients (%s, %s, %s s each; plan: %s)" % (
                    r["label"], ", ".join("%s=%s" % kv for kv in cc["setting"].items()), cc["seconds_each"],
                    plan_text(cc["plan"])), "",
                    _table(["clients", "QPS", "avg latency ms"],
                           [[p["clients"], _f(p["qps"], "%.0f"), _f(p["latency_avg_ms"], "%.3f")] for p in cc["points"]]), ""]
            fl = r.get("filtered")
            if isinstance(fl, list) and fl:
                lines += ["### Filtered queries (%s; WHERE category = c, LIMIT 10)" % r["label"], "", _table(
                    ["selectivity", "iterative_scan", "setting", "R@10", "rows returned", "short results", "QPS", "p99 ms", "plan (prepared)"],
                    [["%.0f%%" % (p["selectivity"] * 100), p["iterative_scan"], p.get("param", "–"),
                      _f(p.get("recall@10")), _f(p.get("rows_returned"), "%.1f"), p.get("short_results", p.get("skipped", "")),
                      _f(p.get("qps"), "%.0f"), _f(p.get("p99_ms"), "%.3f"),
                      plan_text(p.get("prepared_plan"))] for p in fl]), ""]
            for key in ("build_variants", "ingest", "concurrency", "filtered"):
                if isinstance(r.get(key), dict) and "error" in r[key]:
                    lines += ["- %s failed: %s" % (key, r[key]["error"]), ""]
        if res["dataset"]["name"] in plots:
            lines += ["![recall vs QPS](%s)" % os.path.basename(plots[res["dataset"]["name"]]), ""]
    if plots.get("__scale__"):
        lines += ["## Scale", "", "![scale](%s)" % os.path.basename(plots["__scale__"]), ""]
    return "\n".join(lines)


def plot_recall_qps(res, path, title=None):
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for r in res["runs"]:
        pts = [p for p in r["points"] if p.get("recall@10") is not None and p.get("qps")]
        if not pts:
            continue
        xs, ys = [p["recall@10"] for p in pts], [p["qps"] for p in pts]
        style = "o-" if len(pts) > 1 else "s"
        ax.plot(xs, ys, style, label=r["label"], markersize=4)
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (1 client, 1 thread)")
    ds = res["dataset"]
    ax.set_title(title or "%s (n=%d, d=%d)" % (ds["name"], ds["n"], ds["d"]))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scale(results, path):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    systems = {}
    for res in results:
        for r in res["runs"]:
            if r["system"] == "vecdb-exact":
                continue
            systems.setdefault(r["label"], []).append((res["dataset"]["n"], r))
    for label, items in systems.items():
        items.sort(key=lambda x: x[0])
        ns = [n for n, _ in items]
        axes[0].plot(ns, [r["build"]["seconds"] for _, r in items], "o-", label=label)
        axes[1].plot(ns, [r["index_bytes"] / 2**20 for _, r in items], "o-", label=label)
        params = [p["param"] for p in items[0][1]["points"]]
        for j, prm in enumerate(params):
            qs = [r["points"][j]["qps"] if j < len(r["points"]) else None for _, r in items]
            axes[2].plot(ns, qs, "o-" if label.startswith("vecdb") else "s--", label="%s @%s" % (label, prm))
    axes[0].set_title("build seconds")
    axes[1].set_title("index MB")
    axes[2].set_title("QPS (1 client) per search setting")
    for ax in axes:
        ax.set_xlabel("rows")
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    axes[2].set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
