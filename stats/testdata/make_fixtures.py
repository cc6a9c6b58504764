#!/usr/bin/python3
"""Expected values for the otoseg stats package, computed with scipy/numpy.

Run: /usr/bin/python3 stats/testdata/make_fixtures.py > stats/testdata/scipy.json
The Go tests read scipy.json, and also run this script and compare, so a
change in the samples below must be followed by regenerating the JSON.
Kappas are computed here from their textbook formulas with numpy (sklearn
and statsmodels are not installed): weights use the category values 1..4.
"""
import json
import sys
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")
rng = np.random.default_rng(20240521)

mwu = {
    "exact_small": ([0.81, 0.85, 0.90, 0.78, 0.88], [0.70, 0.75, 0.83, 0.69, 0.72, 0.80]),
    "exact_one": ([0.5], [0.1, 0.2, 0.3, 0.7]),
    "exact_8_vs_20": (list(np.round(rng.normal(0.85, 0.05, 8), 6)), list(np.round(rng.normal(0.80, 0.08, 20), 6))),
    "ties_small": ([1, 2, 2, 3, 4], [2, 3, 3, 5, 6, 6]),
    "asymptotic": (list(np.round(rng.normal(0.85, 0.05, 30), 6)), list(np.round(rng.normal(0.80, 0.08, 25), 6))),
    "all_equal": ([1.0, 1.0, 1.0], [1.0, 1.0]),
}
wil = {
    "exact": ([12.0, 15.5, 9.1, 20.2, 11.0, 17.3, 8.8, 14.1, 10.4, 13.9],
              [60.0, 75.0, 40.0, 120.0, 65.0, 70.0, 50.0, 15.0, 90.0, 55.0]),
    "exact_center": ([1, 2, 3, 4], [0, 4, 0, 0]),
    "zeros": ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2.5, 2, 4, 7, 5, 9, 6, 12, 10, 11, 13]),
    "ties": ([1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 2, 5, 4, 8, 6, 10]),
    "approx_60": (list(np.round(rng.normal(30, 5, 60), 4)), list(np.round(rng.normal(600, 120, 60), 4))),
}
reader_a = [1, 2, 1, 3, 4, 2, 1, 1, 2, 3, 1, 4, 2, 2, 1, 3, 1, 2, 4, 1]
reader_b = [1, 2, 2, 3, 3, 2, 1, 2, 2, 4, 1, 4, 1, 2, 1, 3, 2, 2, 4, 1]
reader_c = [1, 1, 1, 3, 4, 3, 1, 1, 2, 3, 2, 4, 2, 3, 1, 2, 1, 2, 3, 1]
cats = [1, 2, 3, 4]


def kappa(a, b, kind):
    a, b = np.asarray(a), np.asarray(b)
    k = len(cats)
    obs = np.zeros((k, k))
    for x, y in zip(a, b):
        obs[x - 1, y - 1] += 1
    obs /= obs.sum()
    exp = np.outer(obs.sum(1), obs.sum(0))
    v = np.asarray(cats, float)
    d = np.abs(v[:, None] - v[None, :]) / (v[-1] - v[0])
    w = {"unweighted": (d > 0).astype(float), "linear": d, "quadratic": d ** 2}[kind]
    return float(1 - (w * obs).sum() / (w * exp).sum())


def fleiss(ratings):
    r = np.asarray(ratings)  # items x readers
    counts = np.stack([(r == c).sum(1) for c in cats], 1).astype(float)
    n = counts.sum(1)[0]
    p = counts.sum(0) / counts.sum()
    pi = ((counts ** 2).sum(1) - n) / (n * (n - 1))
    pe = (p ** 2).sum()
    return float((pi.mean() - pe) / (1 - pe))


sample = list(np.round(rng.gamma(4, 0.05, 37), 6))
out = {
    "describe": {
        "x": sample,
        "mean": float(np.mean(sample)), "sd": float(np.std(sample, ddof=1)),
        "median": float(np.median(sample)),
        "q1": float(np.percentile(sample, 25)), "q3": float(np.percentile(sample, 75)),
        "p95": float(np.percentile(sample, 95)), "p2_5": float(np.percentile(sample, 2.5)),
    },
    "mannwhitneyu": {},
    "wilcoxon": {},
    "kappa": {"a": reader_a, "b": reader_b, "c": reader_c},
}
for name, (x, y) in mwu.items():
    x, y = [float(v) for v in x], [float(v) for v in y]
    r = stats.mannwhitneyu(x, y)
    out["mannwhitneyu"][name] = {"x": x, "y": y, "u1": float(r.statistic), "p": float(r.pvalue)}
for name, (x, y) in wil.items():
    x, y = [float(v) for v in x], [float(v) for v in y]
    d = np.asarray(x) - np.asarray(y)
    nz = d[d != 0]
    ties = len(np.unique(np.abs(nz))) != len(nz)
    # scipy 1.10 'auto' keeps 'exact' under ties (wrongly); otoseg uses the
    # normal approximation there, so ask scipy for exactly that.
    method = "approx" if (ties or len(nz) != len(d) or len(d) > 50) else "exact"
    r = stats.wilcoxon(x, y, method=method)
    out["wilcoxon"][name] = {"x": x, "y": y, "t": float(r.statistic), "p": float(r.pvalue), "method": method}
for kind in ("unweighted", "linear", "quadratic"):
    out["kappa"][kind + "_ab"] = kappa(reader_a, reader_b, kind)
out["kappa"]["fleiss_abc"] = fleiss(np.stack([reader_a, reader_b, reader_c], 1))


# Volume agreement: ICC(2,1) from the two-way ANOVA (numpy) with the McGraw
# and Wong CI from scipy's F quantiles; Shrout and Fleiss' (1979) 6 x 4
# table is the textbook check (ICC(2,1) = 0.29).
def icc21(x):
    x = np.asarray(x, float)
    n, k = x.shape
    g = x.mean()
    ssr = k * ((x.mean(1) - g) ** 2).sum()
    ssc = n * ((x.mean(0) - g) ** 2).sum()
    sse = ((x - g) ** 2).sum() - ssr - ssc
    msr, msc, mse = ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1))
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    fj = msc / mse
    c = n * (1 + (k - 1) * icc) - k * icc
    v = (k - 1) * (n - 1) * (k * icc * fj + c) ** 2 / ((n - 1) * k ** 2 * icc ** 2 * fj ** 2 + c ** 2)
    fu = stats.f.ppf(0.975, n - 1, v)
    fl = stats.f.ppf(0.975, v, n - 1)
    lo = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
    hi = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
    return {"x": x.tolist(), "icc": float(icc), "ci_low": float(lo), "ci_high": float(hi)}


shrout_fleiss = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
vref = np.round(rng.normal(180, 25, 24), 3)
vpred = np.round(vref * 1.04 + rng.normal(0, 9, 24), 3)
out["icc"] = {"shrout_fleiss": icc21(shrout_fleiss), "volumes": icc21(np.stack([vref, vpred], 1)),
              "small": icc21([[1.0, 1.2], [2.0, 2.1], [3.5, 3.1]])}
out["correlation"] = {}
for name, (x, y) in {"volumes": (vref, vpred), "ties": ([1, 2, 2, 3, 4, 5, 5, 6], [2, 1, 4, 3, 6, 5, 8, 8]),
                     "negative": ([1.0, 2.0, 3.0, 4.0, 5.0], [5.1, 3.9, 3.2, 1.8, 1.1])}.items():
    x, y = [float(v) for v in x], [float(v) for v in y]
    pr = stats.pearsonr(x, y)
    ci = pr.confidence_interval(0.95)
    sr = stats.spearmanr(x, y)
    out["correlation"][name] = {"x": x, "y": y, "pearson_r": float(pr.statistic), "pearson_p": float(pr.pvalue),
                                "pearson_ci_low": float(ci.low), "pearson_ci_high": float(ci.high),
                                "spearman_rho": float(sr.correlation), "spearman_p": float(sr.pvalue)}
out["f_quantile"] = [{"p": p, "d1": d1, "d2": d2, "q": float(stats.f.ppf(p, d1, d2))}
                     for p, d1, d2 in [(0.975, 5, 3.7), (0.975, 23, 19.25), (0.5, 1, 1), (0.025, 12, 40), (0.99, 2.5, 300)]]


# Holm's step-down adjustment by its definition (statsmodels is not
# installed): sort, multiply by m - rank, running maximum, cap at 1.
def holm(p):
    p = np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adj = np.minimum(1, (m - np.arange(m)) * p[order])
    adj = np.maximum.accumulate(adj)
    outp = np.empty(m)
    outp[order] = adj
    return outp.tolist()


holm_p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9, 0.0001]
out["holm"] = {"p": holm_p, "adjusted": holm(holm_p)}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
