"""Peer for bench/run mpeig-*: mpmath's eig at 256 bits on the same matrix.
    /usr/bin/python3 bench/peer_mpeig.py legs|normal N      prints seconds"""
import sys
import time

import mpmath


def main():
    kind, N = sys.argv[1], int(sys.argv[2])
    mpmath.mp.prec = 256 + 64
    A = mpmath.matrix(N, N)
    for n in range(N):
        for k in range(N):
            v = mpmath.mpf(0)
            if n > k:
                v = -mpmath.sqrt((2 * n + 1) * (2 * k + 1))
            elif n == k:
                v = mpmath.mpf(-(n + 1))
            if kind == "normal":
                v += mpmath.sqrt(mpmath.mpf(n) + 0.5) * mpmath.sqrt(mpmath.mpf(k) + 0.5)
            A[n, k] = v
    t0 = time.perf_counter()
    mpmath.eig(A)
    print("%.6g" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
