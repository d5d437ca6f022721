#!/usr/bin/python3
"""examples/torch_robustness.py — the PTD robustness protocol (doc/reference.md §6) in plain PyTorch,
from ssmkit init files.

A small S4D classifier whose SSM (Λ, B̃ and Δ) is frozen at the init file's values — only C (with B̃
folded in), the D skip and the layers outside the SSM train — then evaluated clean and with
Fourier-mode noise added to the SSM input of every layer:
    noise[b, h, ℓ] = amp · U[b, h] · cos(ω · Δ_h · ℓ)

One CPU:
    PYTHONPATH=python python3 examples/torch_robustness.py --init ptd --steps 200
Two processes (DistributedDataParallel, gloo; the path past one machine — torchrun's
--nnodes/--rdzv-endpoint take it to several):
    PYTHONPATH=python torchrun --nproc_per_node 2 examples/torch_robustness.py --init ptd --steps 200
--init takes an init file (`ssmkit init ptd -N 64 -o ptd.safetensors`) or a method name (built in
memory with ssmkit.init).  Data: sequential Fashion-MNIST (pixel by pixel, L = 784; Debian's
dataset-fashion-mnist, or --data-dir), else (absent, or --task synthetic) a synthetic 10-class
sinusoid task generated from the seed.  The noise frequency ω defaults to the largest |Im λ| of
S4D-LegS at the N in use (the top spike of |G_DPLR − G_S4D-LegS|).
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import ssmkit  # noqa: E402
from ssmkit.torch import S4DKernel, fourier_noise  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"


# ---- data ---------------------------------------------------------------------------------------

def read_idx(path):
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_data(args):
    d = args.data_dir or FMNIST
    files = [os.path.join(d, f) for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
    if args.task == "sfmnist" or (args.task == "auto" and all(os.path.exists(f) for f in files)):
        xtr, ytr, xte, yte = (read_idx(f) for f in files)
        xtr = xtr[:args.n_train].reshape(-1, 784, 1).astype(np.float32) / 255.0
        xte = xte[:args.n_test].reshape(-1, 784, 1).astype(np.float32) / 255.0
        mean, std = 0.2860, 0.3530          # Fashion-MNIST pixel statistics
        return ("sfmnist", torch.from_numpy((xtr - mean) / std), torch.from_numpy(ytr[:args.n_train].astype(np.int64)),
                torch.from_numpy((xte - mean) / std), torch.from_numpy(yte[:args.n_test].astype(np.int64)))
    g = torch.Generator().manual_seed(args.seed)
    L = args.seq_len

    def make(n):   # class k: a sinusoid of frequency 2 + 3k cycles per sequence, random phase, noise
        y = torch.randint(0, 10, (n,), generator=g)
        phase = torch.rand(n, 1, generator=g) * 2 * math.pi
        ell = torch.arange(L, dtype=torch.float32)[None]
        x = torch.sin(2 * math.pi * (2 + 3 * y[:, None]) * ell / L + phase) + 0.5 * torch.randn(n, L, generator=g)
        return x[..., None], y

    xtr, ytr = make(args.n_train)
    xte, yte = make(args.n_test)
    return "synthetic", xtr, ytr, xte, yte


# ---- model --------------------------------------------------------------------------------------

class S4DBlock(nn.Module):
    """SSM long convolution (kernel from the init file, FFT of length 2L) + D skip → GELU → linear →
    dropout → residual → LayerNorm (post-norm), as the C engine's block."""

    def __init__(self, init, H, seed, dropout, dt_min, dt_max):
        super().__init__()
        self.kernel = S4DKernel.from_init(init, H, dt_min=dt_min, dt_max=dt_max, seed=seed, lr=0.0)
        self.D = nn.Parameter(torch.randn(H, generator=torch.Generator().manual_seed(seed + 7)))
        self.out = nn.Linear(H, H)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(H)
        self.noise = None           # (omega, amp, generator) at evaluation time

    def forward(self, h):                                 # h [B, L, H]
        B, L, H = h.shape
        u = h.transpose(1, 2)                             # [B, H, L]
        if self.noise is not None:
            omega, amp, gen = self.noise
            u = u + fourier_noise(omega, amp, self.kernel.log_dt, L, batch=B, generator=gen, dtype=u.dtype)
        K = self.kernel(L)                                # [H, L]
        n = 2 * L
        y = torch.fft.irfft(torch.fft.rfft(u, n=n) * torch.fft.rfft(K, n=n), n=n)[..., :L]
        y = y + self.D[:, None] * u
        o = self.drop(self.out(F.gelu(y.transpose(1, 2))))
        return self.norm(h + o)


class Model(nn.Module):
    def __init__(self, init, din, nout, H, layers, seed, dropout, dt_min, dt_max):
        super().__init__()
        self.encoder = nn.Linear(din, H)
        self.blocks = nn.ModuleList(S4DBlock(init, H, seed + 100 * i, dropout, dt_min, dt_max) for i in range(layers))
        self.decoder = nn.Linear(H, nout)

    def forward(self, x):
        h = self.encoder(x)
        for b in self.blocks:
            h = b(h)
        return self.decoder(h.mean(1))

    def set_noise(self, omega=None, amp=0.0, seed=0):
        for i, b in enumerate(self.blocks):
            b.noise = None if not amp else (omega, amp, torch.Generator().manual_seed(seed * 1000 + i))


# ---- run ----------------------------------------------------------------------------------------

def evaluate(model, x, y, rank, world, batch, noise=None):
    model.eval()
    core = model.module if hasattr(model, "module") else model
    core.set_noise(*(noise or (None, 0.0)), seed=1234 + rank)
    idx = torch.arange(rank, len(y), world)
    correct = torch.zeros(2, dtype=torch.float64)
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            j = idx[i:i + batch]
            out = core(x[j])
            correct[0] += (out.argmax(1) == y[j]).sum()
            correct[1] += len(j)
    core.set_noise()
    if world > 1:
        dist.all_reduce(correct)
    return (correct[0] / correct[1]).item()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--init", default="ptd", help="init file or method name (default ptd)")
    p.add_argument("-N", type=int, default=64, help="state size when --init is a method (default 64)")
    p.add_argument("--eps", type=float, default=None, help="PTD budget when --init is ptd")
    p.add_argument("--task", choices=["auto", "sfmnist", "synthetic"], default="auto")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seq-len", type=int, default=256, help="synthetic task length (default 256)")
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--H", type=int, default=64, help="d_model (default 64)")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--dt-min", type=float, default=1e-3)
    p.add_argument("--dt-max", type=float, default=1e-1)
    p.add_argument("--batch", type=int, default=32, help="global batch (split across processes)")
    p.add_argument("--steps", type=int, default=100, help="optimiser steps (cosine schedule over them)")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (0: leave)")
    p.add_argument("--omega", type=float, default=None, help="noise frequency (default: top |Im λ| of S4D-LegS)")
    p.add_argument("--amps", default="0.1,0.3", help="noise amplitudes to evaluate (default 0.1,0.3)")
    args = p.parse_args(argv)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    say = print if rank == 0 else (lambda *a, **k: None)

    if os.path.exists(args.init):
        init = ssmkit.load(args.init)
    else:
        init = ssmkit.init(args.init, args.N, **({"eps": args.eps} if args.eps is not None else {}))
    omega = args.omega
    if omega is None:
        omega = float(np.max(np.abs(ssmkit.init("s4d-legs", init.N).tensors["Lambda"].imag)))
    task, xtr, ytr, xte, yte = load_data(args)
    model = Model(init, xtr.shape[-1], 10, args.H, args.layers, args.seed, args.dropout, args.dt_min, args.dt_max)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    params = [q for q in model.parameters() if q.requires_grad]
    decay = [q for q in params if q.ndim >= 2]
    nodecay = [q for q in params if q.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, args.steps) / args.steps)))
    say(f"init {init.method} N={init.N} (kappa_V {init.metadata.get('kappa_V')}), task {task} L={xtr.shape[1]}, "
        f"H={args.H} x {args.layers} layers, {world} process{'es' if world > 1 else ''}, "
        f"{sum(q.numel() for q in params)} trained parameters (SSM frozen)")
    per = max(1, args.batch // world)
    g = torch.Generator().manual_seed(args.seed)     # same order in every process; each takes its slice
    perm, pos, t0 = torch.randperm(len(ytr), generator=g), 0, time.time()
    model.train()
    for step in range(1, args.steps + 1):
        if pos + args.batch > len(perm):
            perm, pos = torch.randperm(len(ytr), generator=g), 0
        j = perm[pos:pos + args.batch][rank::world][:per]
        pos += args.batch
        loss = F.cross_entropy(model(xtr[j]), ytr[j])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step == 1 or step % max(1, args.steps // 10) == 0 or step == args.steps:
            lt = loss.detach().clone()
            if world > 1:
                dist.all_reduce(lt)
                lt /= world
            say(f"step {step:5d}  loss {lt.item():.4f}  ({time.time() - t0:.1f} s)")
    clean = evaluate(model, xte, yte, rank, world, 256)
    say(f"test accuracy clean {clean:.4f}")
    for amp in [float(a) for a in args.amps.split(",") if a]:
        acc = evaluate(model, xte, yte, rank, world, 256, noise=(omega, amp))
        say(f"test accuracy with Fourier noise omega={omega:.4g} amp={amp:g}: {acc:.4f}")
    sys.stdout.flush()
    if world > 1:
        dist.barrier()              # every rank done before the group goes away (gloo)
        dist.destroy_process_group()
        # Debian's torch 1.13 + gloo: freeing the DDP model and its process group when main()
        # returns can leave a worker waiting forever on a C++ thread (1 run in 5 on 2 cores); all
        # work is done and flushed, so a worker leaves here without running the destructors
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
