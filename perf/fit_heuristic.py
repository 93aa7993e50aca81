#!/usr/bin/env python3
"""Fit convx's measured selection heuristic to bench results and write it as C++ data.

    perf/fit_heuristic.py --backend=cpu     # perf/results/cpu/*.csv  -> src/heuristic_cpu.inc
    perf/fit_heuristic.py --backend=cuda    # perf/results/h200/*.csv -> src/heuristic_cuda.inc

Per (direction, convx algorithm) a cost model of the form

    log(ms) = log(flops) + sum_j coef_j * feature_j        (feature 0 is the constant 1)

i.e. a throughput model (time = flops / rate) whose log-rate is linear in log features of the
problem (the FEATURES list below; src/heuristic.cpp computes the same ones). The fit is ridge
regression on standardised features, shrunk towards "constant GFLOP/s" (the prior when the data
is thin); the ridge weight is chosen per model by leave-one-out error. Models with fewer than
MIN_RIDGE samples are that prior alone: the mean measured rate ("rules" for thin data).

Input: convx-bench CSV files (`# key: value` header lines, then the row table). Rows count when
status is ok and the check passed. Only convx algorithms are fitted; peer columns (onednn*,
zeroins, cudnn_find, cudnn_heur, cudnn:<NAME>, auto) are read and ignored, except that on CUDA
results without rows of convx's own `cudnn` algorithm the `cudnn_heur` column stands in for it
(convx's cudnn fallback runs cuDNN's heuristic top-1, which is that column). A problem measured
in several files counts once (geometric mean of its times).

Output: src/heuristic_<backend>.inc: the model table, the fit's date and sources, the
leave-one-out accuracy (as comments), and a check table — recorded problems with the pick the
models make among the algorithms measured on it (only where the top two estimates differ by
more than 2%, so float rounding cannot flip them) — that tests/test_heuristic.cpp compares with
the C++ side. Deterministic: the same inputs give the same file (the date is the newest input's
`# date:`). Standard library only.
"""
import argparse
import csv
import glob
import io
import math
import os
import re
import sys

# convx algorithm names (src/registry.cpp) and their enum spellings (include/convx/convx.h).
ALGOS = ["auto", "reference", "direct_coalesced", "filter_trim", "kernel_split", "split_k",
         "dilation_split", "depthwise", "gconv", "cudnn"]
DIRS = {"fwd": "Forward", "bwd_d": "BackwardData", "bwd_w": "BackwardFilter"}
DTYPE_BYTES = {"f64": 8, "f32": 4, "f16": 2, "bf16": 2}

# The feature vector; src/heuristic.cpp computes the same, in this order.
FEATURES = [
    "1",                    # constant
    "log flops",            # 2 N K P Q (C/G) taps
    "log bytes",            # x + w + y, once each
    "log N",
    "log C/G",
    "log K/G",
    "log input pixels",     # H*W (D*H*W, W)
    "log output pixels",    # P*Q
    "log taps",             # R*S
    "log stride product",
    "log dilation product", # cuDNN's dilation (1 = none)
    "log G",
    "depthwise",            # G == C > 1
    "nhwc",                 # x in channels-last
    "log element bytes",
    "log padded/unpadded input pixels",
]
NF = len(FEATURES)
MIN_RIDGE = 6          # fewer samples: the constant-rate rule
LAMBDAS = [0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
CHECK_MARGIN = math.log(1.02)
MARGINS = [1.0, 1.1, 1.25, 1.5, 2.0, 3.0]   # switch margins tried
# Registry order of AUTO's last resort, for the comparison line only (arm/cpu_algorithms.cpp,
# cuda/cuda_algorithms.cpp); an algorithm not listed goes last.
REGISTRY_ORDER = {
    "cpu": ["depthwise", "kernel_split", "split_k", "direct_coalesced", "filter_trim", "dilation_split", "reference"],
    "cuda": ["cudnn", "kernel_split", "split_k", "direct_coalesced", "filter_trim", "dilation_split", "reference"],
}

DESC_RE = re.compile(r"(mb|ic|oc|g|[iokspd][dhw])(\d+)")


def parse_problem(text):
    """The canonical problem string -> dict of what the features need."""
    flags = dict(re.findall(r"--(\w+)=(\S+)", text))
    desc = text.split()[-1]
    kv = {k: int(v) for k, v in DESC_RE.findall(desc)}
    letters = [l for l in "dhw" if ("i" + l) in kv]
    p = {
        "dir": flags.get("dir", "fwd"), "dt": flags.get("dt", "f32"),
        "layout": flags.get("tag", flags.get("stag", "nchw")),
        "G": kv.get("g", 1), "N": kv.get("mb", 1), "C": kv["ic"], "K": kv["oc"],
    }
    for name, key in (("in", "i"), ("out", "o"), ("ker", "k"), ("stride", "s"), ("pad", "p"), ("dil", "d")):
        p[name] = [kv.get(key + l, 0 if name == "pad" else 1) for l in letters]
    p["dil"] = [d + 1 for d in p["dil"]] if any(("d" + l) in kv for l in letters) else [1] * len(letters)
    return p


def prod(v):
    r = 1
    for x in v:
        r *= x
    return r


def features(p):
    G, N, C, K = p["G"], p["N"], p["C"], p["K"]
    cg, kg = C // G, K // G
    inpix, outpix, taps = prod(p["in"]), prod(p["out"]), prod(p["ker"])
    esize = DTYPE_BYTES.get(p["dt"], 4)
    flops = 2.0 * N * K * outpix * cg * taps
    byts = float(esize) * (N * C * inpix + K * cg * taps + N * K * outpix)
    padded = prod(i + 2 * q for i, q in zip(p["in"], p["pad"]))
    f = [1.0, math.log(flops), math.log(byts), math.log(N), math.log(cg), math.log(kg), math.log(inpix),
         math.log(outpix), math.log(taps), math.log(prod(p["stride"])), math.log(prod(p["dil"])), math.log(G),
         1.0 if (G == C and G > 1) else 0.0, 1.0 if p["layout"] == "nhwc" else 0.0, math.log(esize),
         math.log(padded / inpix)]
    assert len(f) == NF
    return f


def read_csv(path):
    header, lines = {}, []
    with open(path, newline="") as fh:
        for line in fh:
            if line.startswith("#"):
                k, _, v = line[1:].partition(":")
                header[k.strip()] = v.strip()
            else:
                lines.append(line)
    return header, list(csv.DictReader(io.StringIO("".join(lines))))


def load(paths):
    """{(dir, problem): {algo: [ms...]}}, the newest date, the sources."""
    times, dates = {}, []
    for path in paths:
        header, rows = read_csv(path)
        if header.get("date"):
            dates.append(header["date"])
        have_cudnn = any(r.get("algo") == "cudnn" and r.get("status") == "ok" for r in rows)
        for r in rows:
            algo = r.get("algo", "")
            if r.get("status") != "ok" or r.get("check") not in ("PASS", "") or not r.get("median_ms"):
                continue
            if algo == "cudnn_heur" and not have_cudnn:
                algo = "cudnn"  # convx's fallback runs cuDNN's heuristic top-1
            if algo not in ALGOS or algo == "auto":
                continue
            ms = float(r["median_ms"])
            if ms <= 0:
                continue
            key = (r["direction"], r["problem"])
            times.setdefault(key, {}).setdefault(algo, []).append(ms)
    merged = {k: {a: math.exp(sum(math.log(t) for t in v) / len(v)) for a, v in d.items()} for k, d in times.items()}
    return merged, max(dates) if dates else "unknown"


# ---- ridge regression, dense and small: Gauss-Jordan on the normal equations.
def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        d = m[c][c]
        if abs(d) < 1e-300:
            continue
        for r in range(n):
            if r != c and m[r][c] != 0.0:
                f = m[r][c] / d
                for j in range(c, n + 1):
                    m[r][j] -= f * m[c][j]
    return [m[i][n] / m[i][i] if abs(m[i][i]) > 1e-300 else 0.0 for i in range(n)]


def fit(xs, ys, lam):
    """Coefficients (raw feature scale, feature 1 = log flops excluded: its slope is 1 + coef) of
    the ridge fit of y - log flops on the standardised non-constant features."""
    n = len(xs)
    r = [y - x[1] for x, y in zip(xs, ys)]
    cols = []
    mean, std = [0.0] * NF, [0.0] * NF
    for j in range(1, NF):
        v = [x[j] for x in xs]
        mu = sum(v) / n
        sd = math.sqrt(sum((t - mu) ** 2 for t in v) / n)
        mean[j], std[j] = mu, sd
        if sd > 1e-9:
            cols.append(j)
    rbar = sum(r) / n
    z = [[(x[j] - mean[j]) / std[j] for j in cols] for x in xs]
    k = len(cols)
    ata = [[sum(z[i][a] * z[i][b] for i in range(n)) + (lam * n if a == b else 0.0) for b in range(k)] for a in range(k)]
    atb = [sum(z[i][a] * (r[i] - rbar) for i in range(n)) for a in range(k)]
    beta = solve(ata, atb) if k else []
    coef = [0.0] * NF
    coef[0] = rbar
    for bj, j in zip(beta, cols):
        coef[j] = bj / std[j]
        coef[0] -= bj * mean[j] / std[j]
    return coef


def predict(coef, x):
    return x[1] + sum(c * v for c, v in zip(coef, x))


def rule(xs, ys):
    coef = [0.0] * NF
    coef[0] = sum(y - x[1] for x, y in zip(xs, ys)) / len(xs)
    return coef


def fit_model(xs, ys):
    """(coef, lambda or None for the rule, leave-one-out RMS of log time)."""
    n = len(xs)
    if n < MIN_RIDGE:
        if n < 2:
            return rule(xs, ys), None, float("nan")
        err = [ys[i] - predict(rule(xs[:i] + xs[i + 1:], ys[:i] + ys[i + 1:]), xs[i]) for i in range(n)]
        return rule(xs, ys), None, math.sqrt(sum(e * e for e in err) / n)
    best = None
    for lam in LAMBDAS:
        err = [ys[i] - predict(fit(xs[:i] + xs[i + 1:], ys[:i] + ys[i + 1:], lam), xs[i]) for i in range(n)]
        rms = math.sqrt(sum(e * e for e in err) / n)
        if best is None or rms < best[1] - 1e-12:
            best = (lam, rms)
    return fit(xs, ys, best[0]), best[0], best[1]


def fit_all(data, skip=None):
    """{(dir, algo): (coef, lam, loo, n)} on every problem but `skip`."""
    samples = {}
    for (d, prob), algos in sorted(data.items()):
        if (d, prob) == skip:
            continue
        x = features(parse_problem(prob))
        for a, ms in sorted(algos.items()):
            samples.setdefault((d, a), ([], []))
            samples[(d, a)][0].append(x)
            samples[(d, a)][1].append(math.log(ms))
    out = {}
    for key, (xs, ys) in sorted(samples.items()):
        if skip is not None:
            coef = fit(xs, ys, MODEL_LAMBDA[key]) if MODEL_LAMBDA.get(key) is not None and len(xs) >= MIN_RIDGE else rule(xs, ys)
            out[key] = (coef, MODEL_LAMBDA.get(key), float("nan"), len(xs))
        else:
            coef, lam, loo = fit_model(xs, ys)
            out[key] = (coef, lam, loo, len(xs))
        RANGES[key] = (min(x[1] for x in xs), max(x[1] for x in xs))
    return out


MODEL_LAMBDA = {}
RANGES = {}  # (dir, algo) -> (min, max) log flops of the samples (of the last fit_all)
# AUTO trusts a model only within its samples' log-flops range widened by this much each side
# (a factor 4): no switch on extrapolation.
RANGE_SLACK = math.log(4.0)


def ranking(models, d, prob, candidates):
    x = features(parse_problem(prob))
    est = sorted((predict(models[(d, a)][0], x), a) for a in candidates if (d, a) in models)
    return est


def fmt(v):
    return repr(float(v)) if math.isfinite(v) else "0.0"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", required=True, choices=["cpu", "cuda"])
    ap.add_argument("--results", help="directory of CSV files (default perf/results/cpu or perf/results/h200)")
    ap.add_argument("--out", help="output file (default src/heuristic_<backend>.inc)")
    ap.add_argument("--max-checks", type=int, default=48)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results = args.results or os.path.join(root, "perf", "results", "h200" if args.backend == "cuda" else "cpu")
    out = args.out or os.path.join(root, "src", "heuristic_%s.inc" % args.backend)
    paths = sorted(glob.glob(os.path.join(results, "*.csv")))
    data, date = load(paths)
    rel = [os.path.relpath(p, root) if os.path.abspath(p).startswith(root + os.sep) else os.path.basename(p) for p in paths]

    models = fit_all(data)
    for k, m in models.items():
        MODEL_LAMBDA[k] = m[1]

    # Leave-one-problem-out picks: refit without the problem, then AUTO's rule among the
    # algorithms that ran on it: the registry-order pick unless the models' best is estimated
    # faster than it by more than the switch margin. The margin is fitted here too (the grid's
    # value with the best geomean time/fastest; ties: fewer misses, then the smaller margin).
    order = REGISTRY_ORDER[args.backend]
    loo = []
    for (d, prob), algos in sorted(data.items()):
        if len(algos) < 2:
            continue
        est = dict((a, e) for e, a in ranking(fit_all(data, skip=(d, prob)), d, prob, algos))
        if est:
            loo.append((algos, est, d, features(parse_problem(prob))[1], dict(RANGES)))
    fit_all(data)  # RANGES of the full fit again

    def covers(d, a, lf, ranges):
        lo, hi = ranges[(d, a)]
        return lo - RANGE_SLACK <= lf <= hi + RANGE_SLACK

    def auto_pick(algos, est, margin, d, lf, ranges):
        reg = min(algos, key=lambda a: order.index(a) if a in order else len(order))
        if reg not in est:
            return reg
        best = min(est, key=lambda a: (est[a], a))
        if best != reg and est[reg] - est[best] > math.log(margin) and covers(d, reg, lf, ranges) and covers(d, best, lf, ranges):
            return best
        return reg

    def score(pick_of):
        within, logs = 0, 0.0
        for algos, est, d, lf, ranges in loo:
            pick = pick_of(algos, est, d, lf, ranges)
            within += algos[pick] <= 1.05 * min(algos.values())
            logs += math.log(algos[pick] / min(algos.values()))
        return within, math.exp(logs / len(loo)) if loo else 1.0

    margin = MARGINS[0]
    if loo:
        margin = min(MARGINS, key=lambda m: (round(score(lambda a, e, d, lf, r: auto_pick(a, e, m, d, lf, r))[1], 9),
                                             -score(lambda a, e, d, lf, r: auto_pick(a, e, m, d, lf, r))[0], m))
    total = len(loo)
    within, geo = score(lambda a, e, d, lf, r: auto_pick(a, e, margin, d, lf, r)) if loo else (0, 1.0)
    pure_within, pure_geo = score(lambda a, e, d, lf, r: min(e, key=lambda x: (e[x], x))) if loo else (0, 1.0)
    reg_within, reg_geo = score(lambda a, e, d, lf, r: min(a, key=lambda x: order.index(x) if x in order else len(order))) if loo else (0, 1.0)

    checks = []
    for (d, prob), algos in sorted(data.items()):
        est = ranking(models, d, prob, algos)
        if len(est) >= 2 and est[1][0] - est[0][0] > CHECK_MARGIN:
            checks.append((d, prob, sorted(algos), est[0][1]))
    if len(checks) > args.max_checks:  # an even spread, deterministic
        step = len(checks) / args.max_checks
        checks = [checks[int(i * step)] for i in range(args.max_checks)]

    w = []
    w.append("// Generated by perf/fit_heuristic.py --backend=%s: do not edit; refit with that command." % args.backend)
    w.append("// Fitted to results dated %s from:" % date)
    for r in rel:
        w.append("//   %s" % r)
    if not paths:
        w.append("//   (none: no results for this backend yet, so no model: AUTO keeps registry order)")
    w.append("// Model per (direction, algorithm): log(ms) = log(flops) + sum coef[j] * feature[j], features:")
    for i, f in enumerate(FEATURES):
        w.append("//   [%d] %s" % (i, f))
    w.append("// Ridge fit of the log rate on standardised features, weight chosen by leave-one-out;")
    w.append("// fewer than %d samples: the mean rate alone (rule). Leave-one-out RMS error of log(ms) per model below." % MIN_RIDGE)
    w.append("// AUTO takes the models' fastest over the registry-order pick only when estimated faster than")
    w.append("// it by more than the switch margin (fitted: %g), and only where both models saw problems of" % margin)
    w.append("// that size (log flops within their samples' range widened 4x each side: no extrapolation).")
    w.append("// The estimates order convxGet*Algorithm.")
    if total:
        w.append("// Leave-one-problem-out over %d recorded problems with >= 2 convx algorithms measured" % total)
        w.append("// (pick within 5% of the fastest convx algorithm measured; geomean time of the pick / fastest):")
        w.append("//   AUTO (heuristic, margin %g): %d/%d (%.0f%%), geomean %.3f" % (margin, within, total, 100.0 * within / total, geo))
        w.append("//   models' fastest alone:       %d/%d (%.0f%%), geomean %.3f" % (pure_within, total, 100.0 * pure_within / total, pure_geo))
        w.append("//   registry order alone:        %d/%d (%.0f%%), geomean %.3f" % (reg_within, total, 100.0 * reg_within / total, reg_geo))
    w.append("")
    name = "Cpu" if args.backend == "cpu" else "Cuda"
    if models:
        w.append("static const HeuristicModel k%sModels[] = {" % name)
        for (d, a), (coef, lam, loo, n) in sorted(models.items()):
            how = "rule" if lam is None else "ridge %g" % lam
            w.append("    // %s %s: %d samples, %s, leave-one-out RMS log error %s" %
                     (d, a, n, how, ("%.3f (x%.2f)" % (loo, math.exp(loo))) if math.isfinite(loo) else "n/a"))
            lo, hi = RANGES[(d, a)]
            w.append("    {Direction::%s, CONVX_ALGO_%s, %d, %s, %s, {%s}}," %
                     (DIRS[d], a.upper(), n, fmt(lo - RANGE_SLACK), fmt(hi + RANGE_SLACK), ", ".join(fmt(c) for c in coef)))
        w.append("};")
    if checks:
        w.append("")
        w.append("// Recorded problems and the algorithm the models rank first among those measured on them.")
        w.append("static const HeuristicCheck k%sChecks[] = {" % name)
        for d, prob, cands, pick in checks:
            w.append("    {\"%s\", \"%s\", CONVX_ALGO_%s}," % (prob, ",".join(cands), pick.upper()))
        w.append("};")
    w.append("")
    w.append("static const HeuristicTable k%sTable = {\"%s\", \"%s\", %s, %s, %d, %s, %d};" %
             (name, args.backend, date, fmt(math.log(margin)), ("k%sModels" % name) if models else "nullptr", len(models),
              ("k%sChecks" % name) if checks else "nullptr", len(checks)))
    text = "\n".join(w) + "\n"
    with open(out, "w") as fh:
        fh.write(text)
    print("fit_heuristic: %d models from %d file(s), %d problems -> %s" % (len(models), len(paths), len(data), os.path.relpath(out)))
    if total:
        print("  leave-one-out: AUTO within 5%% of the fastest on %d/%d (models alone %d, registry order %d), margin %g" %
              (within, total, pure_within, reg_within, margin))


if __name__ == "__main__":
    sys.exit(main())
