#!/usr/bin/env python3
"""
@file Fits the erfc tail used by `erfcTail` in src/kernels/fastmath.ts and prints its coefficients.

    erfc(a) ~= t * exp(-a^2 + P(t)),  t = 1 / (1 + p a),  a in [0.5, 10.5],  P of degree 8

(the form of Numerical Recipes' `erfcc`, refitted on the range the float32 normal cdf needs).
In log space the relative error of erfc is the error of P, so P is fitted to
log(erfc(a) / t) + a^2 by weighted least squares, reweighted toward the largest errors (Lawson's
algorithm, which approaches the minimax fit), for a few values of p; the best p is kept.
Deterministic; needs only numpy. Run: /usr/bin/python3 scripts/fit_erfc_tail.py
"""
import math

import numpy as np

A = np.linspace(0.5, 10.5, 200001)
ERFC = np.array([math.erfc(a) for a in A])


def fit(p, deg=8, iters=300):
    t = 1 / (1 + p * A)
    target = np.log(ERFC / t) + A * A
    w = np.ones_like(t)
    V = np.vander(t, deg + 1, increasing=True)
    best = (math.inf, None)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(V * sw[:, None], target * sw, rcond=None)
        err = V @ c - target
        worst = np.abs(err).max()
        if worst < best[0]:
            best = (worst, c)
        w = w * np.sqrt(np.abs(err)) + 1e-300
        w /= w.sum()
    return best


def main():
    fits = [(*fit(p), p) for p in (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)]
    err, c, p = min(fits, key=lambda r: r[0])
    # independent check on a finer grid, evaluating P by Horner in float64 as the kernel does
    worst = 0.0
    for a in np.linspace(0.5, 10.5, 1000003)[::7]:
        t = 1 / (1 + p * a)
        acc = 0.0
        for k in reversed(range(len(c))):
            acc = acc * t + c[k]
        worst = max(worst, abs(t * math.exp(-a * a + acc) / math.erfc(a) - 1))
    print(f'p = {p}; max relative error of erfc: fit {err:.3e}, check {worst:.3e}')
    print('P coefficients (t^0 first):', ', '.join(repr(float(x)) for x in c))


if __name__ == '__main__':
    main()
