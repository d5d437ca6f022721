"""Peer for bench/run ptd-*: a faithful re-implementation of the official PTD
approach (doc/reference.md §5) in PyTorch: Adam on  cond(V)^2 + lam * ||E||_F  over a
complex perturbation E initialised U[0, 0.1) in real and imaginary parts, every
step a full complex64 eig of A + E and a 2-norm condition number (SVD).

    /usr/bin/python3 bench/peer_ptd.py N STEPS [LR] [LAM]

Deviation: torch >= 1.11's eig backward refuses losses it cannot prove phase
invariant, and float32 rounding trips that check here although cond(V) is
phase invariant; Eig below is torch's own backward formula without the check.

Prints one line: seconds  rel_pert  kappa  max_re  ones  (measured in
float64/complex128 from the final E: ||E||_2/||A||_2, kappa_2 of the unit-column
eigenvector matrix of A + E, max Re lambda, and sup|G - G_LegS|/sup|G_LegS| with
C = ones on 2500 log points 1e-2 .. 50 N^2/pi plus 1500 linear on [0.5, 1.5] N^2/pi).  One thread (torch.set_num_threads(1)).
"""
import sys
import time

import numpy as np
import torch


def legs(N):
    q = np.arange(N, dtype=np.float64)
    r = np.sqrt(2 * q + 1)
    A = -np.tril(np.outer(r, r), -1) - np.diag(q + 1)
    return A


class Eig(torch.autograd.Function):
    """torch.linalg.eig with torch's own backward formula (linalg_eig_backward)
    minus its phase-invariance check, which float32 rounding trips on the
    ill-conditioned early iterates even though cond(V) is phase invariant."""

    @staticmethod
    def forward(ctx, A):
        L, V = torch.linalg.eig(A)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        Vh = V.mH
        VhgV = Vh @ gV
        g = VhgV - Vh @ (V * VhgV.diagonal().real.unsqueeze(-2))
        Econj = L.conj().unsqueeze(-2) - L.conj().unsqueeze(-1)
        Econj.diagonal().fill_(1.0)
        g = g / Econj
        g.diagonal().copy_(gL if gL is not None else torch.zeros_like(L))
        return torch.linalg.solve(Vh, g @ Vh)


def main():
    N, steps = int(sys.argv[1]), int(sys.argv[2])
    lr = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-2
    lam = float(sys.argv[4]) if len(sys.argv) > 4 else 3e-3
    torch.set_num_threads(1)
    torch.manual_seed(0)
    A64 = legs(N)
    A = torch.tensor(A64, dtype=torch.complex64)
    E = (torch.rand(N, N) * 0.1 + 1j * torch.rand(N, N) * 0.1).to(torch.complex64).requires_grad_()
    opt = torch.optim.Adam([E], lr=lr)
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        _, V = Eig.apply(A + E)
        kappa = torch.linalg.cond(V)
        loss = kappa ** 2 + lam * torch.linalg.norm(E)
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    Ef = E.detach().numpy().astype(np.complex128)
    w, V = np.linalg.eig(A64 + Ef)
    V = V / np.linalg.norm(V, axis=0)
    s = np.linalg.svd(V, compute_uv=False)
    rel = np.linalg.norm(Ef, 2) / np.linalg.norm(A64, 2)
    top = N * N / np.pi
    om = np.concatenate([np.logspace(-2, np.log10(50 * top), 2500), np.linspace(0.5 * top, 1.5 * top, 1500)])
    B = np.sqrt(2 * np.arange(N) + 1.0)
    I = np.eye(N)
    g0 = np.linalg.solve(1j * om[:, None, None] * I - A64, np.broadcast_to(B, (len(om), N))[..., None])[..., 0].sum(1)
    g1 = np.linalg.solve(1j * om[:, None, None] * I - A64 - Ef, np.broadcast_to(B, (len(om), N))[..., None])[..., 0].sum(1)
    ones = np.abs(g1 - g0).max() / np.abs(g0).max()
    print("%.6g %.6g %.6g %.6g %.6g" % (secs, rel, s[0] / s[-1], w.real.max(), ones))


if __name__ == "__main__":
    main()
