"""Peer for bench/run nplr-*: the S4 reference NPLR steps in numpy/scipy on
HiPPO-LegS — S = A + P P^T, W_re = mean(diag S), Hermitian eigendecomposition
of -iS (scipy.linalg.eigh), sort by Im, keep N/2, B~ = V* B, P~ = V* P.
    /usr/bin/python3 bench/peer_nplr.py N REPS     prints the median seconds"""
import statistics
import sys
import time

import numpy as np
import scipy.linalg


def nplr(N):
    q = np.arange(N, dtype=np.float64)
    r = np.sqrt(2 * q + 1)
    A = -np.tril(np.outer(r, r), -1) - np.diag(q + 1)
    B = r.copy()
    P = np.sqrt(q + 0.5)
    S = A + np.outer(P, P)
    w_re = np.mean(np.diag(S))
    w_im, V = scipy.linalg.eigh(S * -1j)
    idx = np.argsort(w_im)
    V = V[:, idx[: N // 2]]
    W = w_re + 1j * w_im[idx[: N // 2]]
    Vh = V.conj().T
    return W, V, Vh @ B, Vh @ P


if __name__ == "__main__":
    N, reps = int(sys.argv[1]), int(sys.argv[2])
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        nplr(N)
        ts.append(time.perf_counter() - t0)
    print("%.6g" % statistics.median(ts))
