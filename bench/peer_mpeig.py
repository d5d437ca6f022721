"""Peer for bench/run mpmath-*: mpmath's eig at 256 (+64 guard) bits on the same matrix.
    /usr/bin/python3 bench/peer_mpeig.py FILE     prints seconds
FILE: written by `bench-mpeig dump CASE N BITS FILE` ("N", then the N^2 entries
row by row, decimal), so that the peer sees exactly ssmkit's input (the PTD
perturbation E included); only mpmath.eig is timed."""
import sys
import time

import mpmath


def main():
    mpmath.mp.prec = 256 + 64
    with open(sys.argv[1]) as f:
        N = int(f.readline())
        vals = [mpmath.mpf(f.readline().strip()) for _ in range(N * N)]
    A = mpmath.matrix(N, N)
    for n in range(N):
        for k in range(N):
            A[n, k] = vals[n * N + k]
    t0 = time.perf_counter()
    mpmath.eig(A)
    print("%.6g" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
