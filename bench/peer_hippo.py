"""Peers for bench/run hippo-*: the official S4 construction in numpy, and the
same LegS matrix in mpmath at a given precision.  Prints the median seconds.

    /usr/bin/python3 bench/peer_hippo.py numpy-legs N REPS
    /usr/bin/python3 bench/peer_hippo.py mpmath-legs N PREC REPS
"""
import statistics
import sys
import time


def numpy_legs(N):
    import numpy as np
    # as in S4's hippo.py `transition('legs', N)`
    q = np.arange(N, dtype=np.float64)
    col, row = np.meshgrid(q, q)
    r = 2 * q + 1
    M = -(np.where(row >= col, r, 0) - np.diag(q))
    T = np.sqrt(np.diag(2 * q + 1))
    A = T @ M @ np.linalg.inv(T)
    B = np.diag(T)[:, None]
    return A, B


def mpmath_legs(N, prec):
    import mpmath
    mpmath.mp.prec = prec
    A = mpmath.matrix(N, N)
    for n in range(N):
        for k in range(n + 1):
            A[n, k] = -mpmath.sqrt((2 * n + 1) * (2 * k + 1)) if n > k else mpmath.mpf(-(n + 1))
    B = mpmath.matrix([mpmath.sqrt(2 * n + 1) for n in range(N)])
    return A, B


def timed(f, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "numpy-legs":
        N, reps = int(sys.argv[2]), int(sys.argv[3])
        print("%.6g" % timed(lambda: numpy_legs(N), reps))
    elif what == "mpmath-legs":
        N, prec, reps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        print("%.6g" % timed(lambda: mpmath_legs(N, prec), reps))
    else:
        sys.exit("unknown peer " + what)
