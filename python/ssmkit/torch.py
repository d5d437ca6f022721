"""ssmkit.torch — ssmkit init files as PyTorch S4D layers, and the robustness protocol's noise.

S4DKernel has the parameters of the official S4 repository's S4DKernel (models/s4/s4d.py), same
names and shapes, so its state_dict drops into code written for that class:

    log_dt      [H]          log Δ_h, Δ log-uniform in [dt_min, dt_max]
    C           [H, M, 2]    view_as_real of the complex C·B̃ (B folded into C, as the S4D code does:
                             that kernel has no B; here B̃ of the file is multiplied in once)
    log_A_real  [H, M]       log(−Re Λ)
    A_imag      [H, M]       Im Λ (ssmkit files store the modes with Im λ ≤ 0; the S4D code's
                             S4D-Lin has +πn.  Conjugating Λ, B and C together leaves the kernel unchanged)

    M = N/2 modes (conjugate symmetry; the conjugates are implied by the 2·Re below).

forward(L) is the ZOH Vandermonde kernel of train/ssm_layer.c (doc/reference.md §3):

    K[h, ℓ] = 2·Re Σ_n C[h,n] (e^{Δ_h Λ_n} − 1)/Λ_n · e^{ℓ Δ_h Λ_n},   ℓ = 0..L−1

The ½ of the S4D theory.  ssmkit stores B̃ = V*B without the factor ½ that the S4D paper's
diagonal system carries and that the reference code leaves out (metadata B_convention; reference.md §3).
from_init(..., b_half=False) (the default) folds B̃ as stored: the kernel of the C engine
(`ssmkit train`) and of the S4 reference code.  b_half=True folds B̃/2: the theory's system, whose
transfer function converges to HiPPO-LegS (the `convergence` experiment's convention).
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn

import ssmkit

from .s5 import S5SSM   # the S5 repository's parameters (numpy; .torch() gives tensors)

__all__ = ["S4DKernel", "S5SSM", "fourier_noise", "noise_uniforms", "engine_stream", "engine_uniform"]


def _as_init(init):
    if isinstance(init, ssmkit.InitFile):
        return init
    return ssmkit.load(os.fspath(init))


class S4DKernel(nn.Module):
    """The S4D convolution kernel with the official S4DKernel's parameters (see the module doc).

    lr: as the S4 code's `register`: None trains log_dt, log_A_real, A_imag as ordinary parameters
    (with an `_optim` hint absent); lr = 0.0 registers them as buffers (frozen: the PTD robustness
    protocol freezes Λ, B and Δ and trains C); another value keeps them parameters and attaches
    `_optim = {"lr": lr, "weight_decay": 0.0}` as the S4 code does.  C is always a parameter."""

    def __init__(self, log_dt, C, log_A_real, A_imag, lr=None):
        super().__init__()
        H, M = log_A_real.shape
        if tuple(log_dt.shape) != (H,) or tuple(C.shape) != (H, M, 2) or tuple(A_imag.shape) != (H, M):
            raise ValueError(f"S4DKernel: shapes log_dt {tuple(log_dt.shape)}, C {tuple(C.shape)}, log_A_real "
                             f"{tuple(log_A_real.shape)}, A_imag {tuple(A_imag.shape)} do not agree")
        self.H, self.M, self.N = H, M, 2 * M
        self.C = nn.Parameter(C)
        self.register("log_dt", log_dt, lr)
        self.register("log_A_real", log_A_real, lr)
        self.register("A_imag", A_imag, lr)

    def register(self, name, tensor, lr=None):
        """As the S4 repository: lr == 0 → buffer; else parameter (with an _optim hint if lr given)."""
        if lr == 0.0:
            self.register_buffer(name, tensor)
        else:
            self.register_parameter(name, nn.Parameter(tensor))
            if lr is not None:
                setattr(getattr(self, name), "_optim", {"lr": lr, "weight_decay": 0.0})

    @classmethod
    def from_init(cls, init, H, dt_min=1e-3, dt_max=1e-1, seed=0, C="random", b_half=False,
                  dtype=torch.float32, lr=None, log_dt=None):
        """Build from an init file (path or ssmkit.InitFile) for H channels.

        Λ and B̃ come from the file (one copy per channel).  C (before B̃ is folded in):
          "random" (default): as the C engine: C₀ ~ N(0, 1) real [H, N], C = C₀·V when the file has
                    V (S4D-LegS, S5, PTD), else complex normal with E|C|² = 1 (S4D-Lin/Inv/Real);
          "file":   the file's C̃ = C_target·V (ones without V), the same for every channel;
          an array [H, M] (complex) or [M]: used as given.
        log_dt: log-uniform in [dt_min, dt_max] per channel, or a given tensor [H].  seed seeds a
        torch.Generator for C and log_dt.  b_half: fold B̃/2 (the S4D theory) instead of B̃.
        Files with a low-rank term (s4-dplr: P) or without conjugate symmetry are refused: their
        kernel is not this diagonal formula (the C engine takes its dense path for s4-dplr)."""
        f = _as_init(init)
        if f.r:
            raise ValueError(f"S4DKernel.from_init: {f.method} has a rank-{f.r} term P (DPLR), not a diagonal "
                             "SSM; use s4d-legs (P dropped) or ptd")
        if not f.conj_sym:
            raise ValueError("S4DKernel.from_init: the file stores all N modes (--no-conj-sym); the S4D kernel "
                             "keeps N/2 with their conjugates implied")
        if np.any(f.lambda_.real >= 0):
            raise ValueError("S4DKernel.from_init: Re Λ must be < 0 for log_A_real = log(−Re Λ)")
        H, M, N = int(H), f.M, f.N
        g = torch.Generator().manual_seed(int(seed))
        f64 = torch.float64
        if log_dt is None:
            lo, hi = math.log(dt_min), math.log(dt_max)
            log_dt = torch.rand(H, generator=g, dtype=f64) * (hi - lo) + lo
        else:
            log_dt = torch.as_tensor(log_dt, dtype=f64).clone()
        if isinstance(C, str) and C == "random":
            V = f.tensors.get("V")
            c0 = torch.randn(H, N, generator=g, dtype=f64)
            if V is not None:
                Cc = c0.to(torch.complex128) @ torch.from_numpy(V)
            else:
                Cc = torch.complex(c0[:, 0::2], c0[:, 1::2]) * math.sqrt(0.5)
        elif isinstance(C, str) and C == "file":
            Cc = torch.from_numpy(f.C_tilde).expand(H, M).clone()
        elif isinstance(C, str):
            raise ValueError(f"S4DKernel.from_init: C must be 'random', 'file' or an array, got {C!r}")
        else:
            Cc = torch.as_tensor(np.asarray(C), dtype=torch.complex128)
            Cc = Cc.expand(H, M).clone() if Cc.ndim == 1 else Cc
            if tuple(Cc.shape) != (H, M):
                raise ValueError(f"S4DKernel.from_init: C has shape {tuple(Cc.shape)}, expected ({H}, {M})")
        Bt = torch.from_numpy(f.B_tilde) * (0.5 if b_half else 1.0)
        lam = torch.from_numpy(f.lambda_)
        CB = torch.view_as_real(Cc * Bt).contiguous()
        log_A_real = torch.log(-lam.real).expand(H, M).clone()
        A_imag = lam.imag.expand(H, M).clone()
        k = cls(log_dt.to(dtype), CB.to(dtype), log_A_real.to(dtype), A_imag.to(dtype), lr=lr)
        k.init_method = f.method
        return k

    def forward(self, L):
        """Kernel [H, L] in the parameters' precision (complex64 for float32, complex128 for float64)."""
        dt = torch.exp(self.log_dt)                                    # [H]
        C = torch.view_as_complex(self.C.contiguous())                 # [H, M]
        A = -torch.exp(self.log_A_real) + 1j * self.A_imag             # [H, M]
        dtA = A * dt.unsqueeze(-1)
        K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device, dtype=self.log_dt.dtype)   # [H, M, L]
        C = C * (torch.exp(dtA) - 1.0) / A
        return 2 * torch.einsum("hn,hnl->hl", C, torch.exp(K)).real


# ---- the robustness protocol's noise (doc/reference.md §6) ---------------------------------------

_M64 = (1 << 64) - 1


def engine_stream(a, b, c, d):
    """ssm_train_stream(a, b, c, d) of the C engine (splitmix64 counters), in Python."""
    def rand(s):
        s = (s + 0x9E3779B97F4A7C15) & _M64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return s, z ^ (z >> 31)

    s, x = rand(a & _M64)
    x ^= b & _M64
    x, y = rand(x)
    x = y ^ (c & _M64)
    x, y = rand(x)
    x = y ^ (d & _M64)
    _, y = rand(x)
    return y


def engine_uniform(state):
    """(new state, U[0,1)) as ssm_train_uniform: the top 53 bits of the next splitmix64 draw."""
    s = (state + 0x9E3779B97F4A7C15) & _M64
    z = s
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z ^= z >> 31
    return s, (z >> 11) * 2.0 ** -53


def noise_uniforms(B, H, ids=None, layer=0, seed=None, generator=None, dtype=torch.float64):
    """U[b, h] ~ U[0, 1): from a torch generator, or (seed given) the C engine's streams
    (seed, sample id ids[b], layer, h) — the same U as `ssmkit eval --noise` draws."""
    if seed is None:
        return torch.rand(B, H, generator=generator, dtype=dtype)
    ids = range(B) if ids is None else [int(i) for i in ids]
    U = [[engine_uniform(engine_stream(seed, i, layer, h))[1] for h in range(H)] for i in ids]
    return torch.tensor(U, dtype=dtype)


def fourier_noise(omega, amp, log_dt, L, batch=None, U=None, ids=None, layer=0, seed=None, generator=None,
                  dtype=torch.float32):
    """Fourier-mode noise of the robustness protocol (reference.md §6), shape [B, H, L]:

        noise[b, h, ℓ] = amp · U[b, h] · cos(ω · Δ_h · ℓ),   Δ_h = exp(log_dt[h]),  ℓ = 0..L−1

    to be added to the input of the SSM convolution of every layer, at test time only.  U: given
    [B, H], or drawn by noise_uniforms(batch, H, ids, layer, seed, generator) (seed given: the C
    engine's streams, so that with the engine's log_dt the noise is the engine's up to float rounding).
    Computed in float64 as the engine does, returned in dtype."""
    log_dt = torch.as_tensor(log_dt).detach().to(torch.float64)
    H = log_dt.shape[0]
    if U is None:
        if batch is None:
            raise ValueError("fourier_noise: give U [B, H] or batch")
        U = noise_uniforms(batch, H, ids=ids, layer=layer, seed=seed, generator=generator)
    U = torch.as_tensor(U, dtype=torch.float64)
    w = float(omega) * torch.exp(log_dt)                                   # [H]
    ell = torch.arange(L, dtype=torch.float64)
    wave = torch.cos(w[:, None] * ell)                                     # [H, L]
    return ((float(amp) * U)[:, :, None] * wave[None]).to(dtype)
