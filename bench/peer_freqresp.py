"""Peer for bench/run freqresp-1024: G(iw) = C (iw I - A)^-1 B of HiPPO-LegS
(B = LegS B, C = ones) by numpy.linalg.solve per frequency (a dense LU per
point, O(N^3)), the way one writes it in numpy.

    /usr/bin/python3 bench/peer_freqresp.py N K SUBSAMPLE CHECKFILE

The K frequencies are log-spaced in [1e-2, 1e4] (as ssmkit's grid).  Solving
all K takes hours at N = 1024, so SUBSAMPLE of them (every (K/50)*stride-th,
the points whose ssmkit values are in CHECKFILE) are solved and timed; the
median seconds per frequency times K is printed: EXTRAPOLATED, not measured.
Prints one line:  extrapolated_seconds  median_seconds_per_frequency  max_rel_diff
(max_rel_diff: largest |G_numpy - G_ssmkit|/|G_numpy| over the subsample).
"""
import sys
import time

import numpy as np


def main():
    N, K, sub, check = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    q = np.arange(N, dtype=np.float64)
    r = np.sqrt(2 * q + 1)
    A = -np.tril(np.outer(r, r), -1) - np.diag(q + 1)
    B = r.copy()
    C = np.ones(N)
    t = np.arange(K) / (K - 1)
    w = np.exp(np.log(1e-2) + t * (np.log(1e4) - np.log(1e-2)))
    ours = np.loadtxt(check)
    ours = ours[:, 0] + 1j * ours[:, 1]
    stride = max(K // 50, 1)
    picks = np.linspace(0, len(ours) - 1, sub).astype(int)
    times, worst = [], 0.0
    I = np.eye(N)
    for k in picks:
        t0 = time.perf_counter()
        g = C @ np.linalg.solve(1j * w[k * stride] * I - A, B)
        times.append(time.perf_counter() - t0)
        worst = max(worst, abs(g - ours[k]) / abs(g))
    med = float(np.median(times))
    print("%.6g %.6g %.3g" % (med * K, med, worst))


if __name__ == "__main__":
    main()
