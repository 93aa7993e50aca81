#!/usr/bin/env python3
"""convx-bench results -> DIR/report.md and DIR/report.html with PNG plots.

    perf/report.py --out=DIR RESULTS.csv [RESULTS.csv ...]
    perf/report.py --out=perf/out/cpu-report perf/results/cpu/*.csv

One section per CSV (a suite run): per direction, the speedup of each convx algorithm and of AUTO
(the `auto` column, when the run has one) over the best peer per layer (GPU: cuDNN's Find-best
`cudnn_find` and its heuristic top-1 `cudnn_heur`; CPU: the best oneDNN column, and the
reference), a roofline plot (achieved GFLOP/s against arithmetic intensity, with the device's
peak compute and copy bandwidth), and a summary: on what fraction of problems AUTO is within 5%
of the best path, and the geometric mean of AUTO's speedup over each baseline.

Peaks: from the CSV header (`# fp32_peak:`, `# copy_bandwidth:`, measured by convx-bench; CPU runs
before the bench measured them fall back to an estimate, below).
CPU: --peak-gflops/--peak-gbs when given; else, when this machine's CPU model is the one in the
CSV header, fp32 peak = threads x clock (`cpu MHz`, /proc/cpuinfo) x SIMD lanes (16 with
avx512f, 8 with avx2, else 4) x 2 (FMA) x 2 (FMA units, assumed), and bandwidth = a measured
single-stream memcpy of 256 MiB (read + write bytes, best of 3) times min(threads, 2) — a rough
ceiling, said so in the report; else no peak lines.

Needs python3; the plots need matplotlib (Debian python3-matplotlib): without it the report is
written without plots, and says so.
"""
import argparse
import csv
import html
import io
import math
import os
import re
import sys
import time

CONVX_ALGOS = ["reference", "direct_coalesced", "filter_trim", "kernel_split", "split_k", "dilation_split", "depthwise",
               "gconv", "cudnn"]
ONEDNN = ["onednn", "onednn_any", "onednn_deconv"]
# The other CPU peers, each its own baseline: XNNPACK (forward, NHWC) and PyTorch (its default,
# oneDNN-backed, and its own im2col path).
CPU_PEERS = ["xnnpack", "torch", "torch_native"]
DIRS = ["fwd", "bwd_d", "bwd_w"]


def read_csv(path):
    header, lines = {}, []
    with open(path, newline="") as fh:
        for line in fh:
            if line.startswith("#"):
                k, _, v = line[1:].partition(":")
                header.setdefault(k.strip(), v.strip())
            else:
                lines.append(line)
    return header, list(csv.DictReader(io.StringIO("".join(lines))))


def num(v):
    try:
        x = float(v)
        return x if math.isfinite(x) else None
    except (TypeError, ValueError):
        return None


def geomean(v):
    v = [x for x in v if x and x > 0]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else None


def suite_name(header, path):
    m = re.search(r"--suite=(\S+)", header.get("command", ""))
    return os.path.splitext(os.path.basename(m.group(1)))[0] if m else os.path.splitext(os.path.basename(path))[0]


# ---- peaks
_MEASURED = {}


def cpu_peaks(header, args):
    if args.peak_gflops and args.peak_gbs:
        return args.peak_gflops, args.peak_gbs, "given on the command line"
    if header.get("copy_bandwidth") and header.get("fp32_peak", "").split()[:1] != ["not"]:
        return gpu_peaks(header)  # measured by convx-bench at the run's thread count (runs since the CPU roofline)
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return None, None, "no peak: not given and /proc/cpuinfo unreadable"
    model = re.search(r"model name\s*:\s*(.*)", info)
    if not model or model.group(1).strip() not in header.get("cpu", header.get("device", "")):
        return args.peak_gflops, args.peak_gbs, "no measured peak: the results come from another CPU (give --peak-gflops/--peak-gbs)"
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", info)
    flags = re.search(r"flags\s*:\s*(.*)", info).group(1).split()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    threads = int(num(header.get("threads", "0")) or 0) or os.cpu_count() or 1
    ghz = float(mhz.group(1)) / 1000 if mhz else 2.0
    gflops = args.peak_gflops or threads * ghz * lanes * 2 * 2
    gbs = args.peak_gbs
    how = ("fp32 peak %.0f GFLOP/s = %d thread(s) x %.2f GHz x %d lanes x 2 (FMA) x 2 (FMA units, assumed; a turbo clock above "
           "the listed one puts points above it)" % (gflops, threads, ghz, lanes))
    if not gbs and "copy" not in _MEASURED:
        src = bytearray(b"\x01") * (256 << 20)
        dst = bytearray(len(src))
        dst[:] = src  # first touch outside the timing
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            dst[:] = src
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
        _MEASURED["copy"] = 2 * len(src) / best / 1e9
        del src, dst
    if not gbs:
        gbs = _MEASURED["copy"] * min(threads, 2)
        how += "; bandwidth %.1f GB/s = memcpy of 256 MiB (read + write), best of 3, x min(threads, 2), measured now" % gbs
    return gflops, gbs, how


def gpu_peaks(header):
    g = re.match(r"([\d.]+)", header.get("fp32_peak", ""))
    b = re.match(r"([\d.]+)", header.get("copy_bandwidth", ""))
    return (float(g.group(1)) if g else None, float(b.group(1)) if b else None,
            "from the run's header: fp32_peak (%s), copy_bandwidth (%s)" % (header.get("fp32_peak", "?"), header.get("copy_bandwidth", "?")))


# ---- tables
class Doc:
    """Markdown and HTML written side by side."""

    def __init__(self):
        self.md, self.html = [], []

    def h(self, level, text):
        self.md.append("#" * level + " " + text + "\n")
        self.html.append("<h%d>%s</h%d>" % (level, html.escape(text), level))

    def p(self, text):
        self.md.append(text + "\n")
        self.html.append("<p>%s</p>" % html.escape(text))

    def table(self, head, rows):
        self.md.append("| " + " | ".join(head) + " |")
        self.md.append("|" + "---|" * len(head))
        for r in rows:
            self.md.append("| " + " | ".join(r) + " |")
        self.md.append("")
        self.html.append("<table><tr>" + "".join("<th>%s</th>" % html.escape(h) for h in head) + "</tr>" +
                         "".join("<tr>" + "".join("<td>%s</td>" % html.escape(c) for c in r) + "</tr>" for r in rows) + "</table>")

    def img(self, rel, alt):
        self.md.append("![%s](%s)\n" % (alt, rel))
        self.html.append('<p><img src="%s" alt="%s"></p>' % (html.escape(rel), html.escape(alt)))


def fx(v, f="%.2fx"):
    return f % v if v is not None else "-"


def analyse(rows, gpu):
    """{dir: [problem dict]} with per-column median ms, in file order."""
    out = {}
    for r in rows:
        d, prob = r.get("direction"), r.get("problem")
        if d not in DIRS:
            continue
        ms = num(r.get("median_ms")) if r.get("status") == "ok" and r.get("check") in ("PASS", "") else None
        lst = out.setdefault(d, [])
        if not lst or lst[-1]["problem"] != prob:
            lst.append({"problem": prob, "name": r.get("name") or prob.split()[-1], "ms": {}, "gflops": {}, "gbps": {}, "msg": {}})
        e = lst[-1]
        algo = r.get("algo", "")
        if ms:
            e["ms"][algo] = ms
            e["gflops"][algo] = num(r.get("gflops"))
            e["gbps"][algo] = num(r.get("gbps"))
        e["msg"][algo] = r.get("message", "")
    for d, lst in out.items():
        for e in lst:
            m = e["ms"]
            if gpu:
                e["peers"] = {k: m[k] for k in ("cudnn_find", "cudnn_heur") if k in m}
            else:
                one = [m[k] for k in ONEDNN if k in m]
                e["peers"] = {}
                if one:
                    e["peers"]["best onednn"] = min(one)
                for k in CPU_PEERS:
                    if k in m:
                        e["peers"][k] = m[k]
                if "reference" in m:
                    e["peers"]["reference"] = m["reference"]
            conv = {a: m[a] for a in CONVX_ALGOS if a in m}
            e["convx"] = conv
            e["best_convx"] = min(conv.values()) if conv else None
            everything = list(conv.values()) + list(e["peers"].values()) + [v for k, v in m.items() if k.startswith("cudnn:")]
            e["best_any"] = min(everything) if everything else None
            e["auto"] = m.get("auto")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for report.md, report.html and the PNGs")
    ap.add_argument("--peak-gflops", type=float, help="CPU: fp32 peak GFLOP/s for the roofline")
    ap.add_argument("--peak-gbs", type=float, help="CPU: bandwidth GB/s for the roofline")
    ap.add_argument("csv", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - any import failure means no plots
        # Debian's python3-matplotlib belongs to /usr/bin/python3: another python3 first on
        # PATH (pyenv, a venv) does not see it, so run again under that one.
        system = "/usr/bin/python3"
        if (os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system)
                and not os.environ.get("CONVX_REPORT_REEXEC")):
            os.environ["CONVX_REPORT_REEXEC"] = "1"
            os.execv(system, [system, os.path.abspath(__file__)] + sys.argv[1:])
        plt = None
        why_no_plots = "no plots: matplotlib is not available (%s); install python3-matplotlib" % e

    doc = Doc()
    doc.h(1, "convx bench report")
    doc.p("From: " + ", ".join(os.path.relpath(p) for p in args.csv) + ". Speedup = peer time / algorithm time (> 1: the algorithm is faster); "
          "the best peer per layer is the fastest of the baselines named in each table.")
    if plt is None:
        doc.p(why_no_plots)
    summary = []
    for path in args.csv:
        header, rows = read_csv(path)
        gpu = header.get("backend") == "cuda"
        suite = suite_name(header, path)
        data = analyse(rows, gpu)
        doc.h(2, "%s (%s)" % (suite, os.path.basename(path)))
        doc.p("Device: %s; threads: %s; commit %s; %s." % (header.get("device", "?"), header.get("threads", "?"),
                                                          header.get("git_commit", "?"), header.get("date", "?")))
        peaks = gpu_peaks(header) if gpu else cpu_peaks(header, args)
        have_auto = any(e["auto"] for lst in data.values() for e in lst)
        if not have_auto:
            doc.p("This run has no auto column (it predates it, or --algo left it out): AUTO figures are n/a; "
                  "rerun with --algo=all (which includes auto) for them.")
        peer_names = ["cudnn_find", "cudnn_heur"] if gpu else ["best onednn"] + CPU_PEERS + ["reference"]
        for d in DIRS:
            lst = data.get(d)
            if not lst:
                continue
            algos = [a for a in CONVX_ALGOS if any(a in e["convx"] for e in lst)]
            cols = algos + (["auto"] if have_auto else [])
            doc.h(3, "%s %s" % (suite, d))
            head = ["layer", "best peer", "best peer ms"] + ["%s" % c for c in cols] + ["AUTO picked"]
            trows = []
            for e in lst:
                peers = e["peers"]
                if not peers:
                    continue
                bp = min(peers, key=peers.get)
                cells = [e["name"], bp, "%.4g" % peers[bp]]
                for c in cols:
                    t = e["convx"].get(c) if c != "auto" else e["auto"]
                    cells.append(fx(peers[bp] / t) if t else "n/a")
                cells.append(e["msg"].get("auto", "").replace("picked ", "") if have_auto else "-")
                trows.append(cells)
            doc.p("Speedup over the best peer (%s) per layer; n/a: not applicable or not run." % " or ".join(peer_names))
            doc.table(head, trows)
            # summary figures
            within_any = [e["auto"] <= 1.05 * e["best_any"] for e in lst if e["auto"] and e["best_any"]]
            within_cx = [e["auto"] <= 1.05 * e["best_convx"] for e in lst if e["auto"] and e["best_convx"]]
            within = ["%d/%d (%.0f%%)" % (sum(w), len(w), 100.0 * sum(w) / len(w)) if w else "n/a" for w in (within_any, within_cx)]
            for baseline in peer_names + ["best peer"]:
                def base(e):
                    if not e["peers"]:
                        return None
                    return min(e["peers"].values()) if baseline == "best peer" else e["peers"].get(baseline)
                auto = [base(e) / e["auto"] for e in lst if base(e) and e["auto"]]
                best = [base(e) / e["best_convx"] for e in lst if base(e) and e["best_convx"]]
                if not auto and not best:
                    continue  # a peer this suite and direction did not run
                summary.append(["%s (%s)" % (suite, os.path.basename(path)), d, baseline, fx(geomean(auto)) if auto else "n/a", fx(geomean(best)) if best else "n/a"] + within)
            if plt is not None and trows:
                fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(lst) * max(1, len(cols)) / 2), 4.2))
                width = 0.8 / max(1, len(cols))
                names = [e["name"] for e in lst if e["peers"]]
                for i, c in enumerate(cols):
                    ys = []
                    for e in lst:
                        if not e["peers"]:
                            continue
                        t = e["convx"].get(c) if c != "auto" else e["auto"]
                        ys.append(min(e["peers"].values()) / t if t else 0)
                    ax.bar([k + i * width for k in range(len(names))], ys, width, label=c)
                ax.axhline(1.0, color="black", lw=0.8)
                ax.set_yscale("log")
                ax.set_ylabel("speedup over best peer")
                ax.set_xticks([k + 0.4 - width / 2 for k in range(len(names))])
                ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
                ax.set_title("%s %s: speedup over %s" % (suite, d, " / ".join(peer_names)))
                ax.legend(fontsize=7, ncol=3)
                fig.tight_layout()
                png = "%s-%s-%s-speedup.png" % (os.path.splitext(os.path.basename(path))[0], suite, d)
                fig.savefig(os.path.join(args.out, png), dpi=90)
                plt.close(fig)
                doc.img(png, "%s %s speedup" % (suite, d))
        # roofline
        gflops_peak, gbs_peak, how = peaks
        doc.p("Roofline: " + how + ".")
        if plt is not None:
            fig, ax = plt.subplots(figsize=(7, 5))
            groups = {}
            for lst in data.values():
                for e in lst:
                    for a, g in e["gflops"].items():
                        bw = e["gbps"].get(a)
                        if g and bw:
                            kind = a if a in CONVX_ALGOS or a == "auto" else ("peer" if not a.startswith("cudnn:") else "cudnn:*")
                            groups.setdefault(kind, ([], []))
                            groups[kind][0].append(g / bw)
                            groups[kind][1].append(g)
            for kind, (xs, ys) in sorted(groups.items()):
                ax.scatter(xs, ys, s=12, label=kind, marker="x" if kind in ("peer", "cudnn:*") else "o", alpha=0.7)
            allx = [x for xs, _ in groups.values() for x in xs]
            if gflops_peak and gbs_peak and allx:
                lo, hi = min(allx) / 2, max(allx) * 2
                pts = [lo * (hi / lo) ** (k / 50) for k in range(51)]
                ax.plot(pts, [min(gflops_peak, gbs_peak * x) for x in pts], color="black", lw=1, label="roofline")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("arithmetic intensity (FLOP / byte, x + w + y once)")
            ax.set_ylabel("achieved GFLOP/s")
            ax.set_title("%s: roofline (%s)" % (suite, header.get("device", "?")[:60]))
            ax.legend(fontsize=7)
            fig.tight_layout()
            png = "%s-%s-roofline.png" % (os.path.splitext(os.path.basename(path))[0], suite)
            fig.savefig(os.path.join(args.out, png), dpi=90)
            plt.close(fig)
            doc.img(png, "%s roofline" % suite)

    doc.h(2, "Summary")
    doc.p("Geomean speedup of AUTO, and of the best convx algorithm per layer, over each baseline; how often AUTO is within 5% "
          "of the best path (any column, peers included) and of the best convx algorithm.")
    doc.table(["suite", "direction", "baseline", "AUTO geomean", "best convx geomean", "AUTO within 5% of best path",
               "AUTO within 5% of best convx"], summary)
    md = "\n".join(doc.md) + "\n"
    with open(os.path.join(args.out, "report.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(args.out, "report.html"), "w") as fh:
        fh.write("<!doctype html><html><head><meta charset='utf-8'><title>convx bench report</title><style>"
                 "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;font-size:12px}"
                 "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>\n" + "\n".join(doc.html) + "\n</body></html>\n")
    print("report: %s/report.md, %s/report.html%s" % (args.out, args.out, "" if plt else " (no plots: matplotlib missing)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
