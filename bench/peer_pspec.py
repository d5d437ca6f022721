"""Peer for bench/run pspec-*: sigma_min(zI - A) of HiPPO-LegS by numpy's dense
SVD per grid point (what one writes in numpy), and the accuracy of ssmkit's
grid against it.

    /usr/bin/python3 bench/peer_pspec.py N SUBSAMPLE OURS.tsv

A dense SVD per point costs O(N^3): SUBSAMPLE points of ssmkit's grid (every
k-th of the computed upper half) are done and timed; the median seconds per
point times 5000 (the points of the 100x100 grid that a real matrix needs) is
printed: EXTRAPOLATED, not measured.  Prints one line:
    extrapolated_seconds  seconds_per_point  max_rel_err  violations  checked
where max_rel_err is max |ours - svd|/svd over checked points with
svd > 1e-8 ||A||_2 and violations counts points outside ssmkit's promise
(1e-4 relative there, 10 eps ||A||_2 absolute below; the SVD's own error,
up to ~10 eps ||A||, is allowed for on top).
"""
import sys
import time

import numpy as np


def main():
    N, sub, ours_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    q = np.arange(N, dtype=np.float64)
    r = np.sqrt(2 * q + 1)
    A = -np.tril(np.outer(r, r), -1) - np.diag(q + 1)
    nA = np.linalg.norm(A, 2)
    ours = np.loadtxt(ours_path, skiprows=1)  # the names line, then '#' comments and rows
    ours = ours[ours[:, 1] >= 0]
    idx = np.linspace(0, len(ours) - 1, sub).astype(int)
    I = np.eye(N)
    times, worst, bad, checked = [], 0.0, 0, 0
    for k in idx:
        x, y, s = ours[k]
        t0 = time.perf_counter()
        ref = np.linalg.svd((x + 1j * y) * I - A, compute_uv=False)[-1]
        times.append(time.perf_counter() - t0)
        checked += 1
        if ref > 1e-8 * nA:
            e = abs(s - ref) / ref
            worst = max(worst, e)
            bad += e > 1e-4
        else:
            bad += abs(s - ref) > 20 * np.finfo(float).eps * nA
    per = float(np.median(times))
    print(f"{per * 5000:.6g} {per:.6g} {worst:.3g} {bad} {checked}")


if __name__ == "__main__":
    main()
