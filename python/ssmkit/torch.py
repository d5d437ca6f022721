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
from .engine import Checkpoint, load_checkpoint

__all__ = ["S4DKernel", "S5SSM", "EngineModel", "engine_train", "engine_evaluate", "fourier_noise", "noise_uniforms",
           "engine_stream", "engine_uniform"]


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
        kernel is not this diagonal formula (the C engine uses its DPLR kernel, or the dense path, for s4-dplr)."""
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


# ---- the training engine's model and run in PyTorch (doc/design.md "Training engine") ---------------

class _Affine(nn.Module):
    """x @ weight + bias with weight [in, out] (the engine's layout, cblas_sgemm on row-major x)."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, x):
        return x @ self.weight + self.bias


class _Norm(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, x):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.weight, self.bias, 1e-5)


class _SSM(nn.Module):
    """The SSM of one layer: Lambda, B, C [H, M, 2] (DPLR path: also P [H, M, 2]; dense path: C [H, N]
    over a fixed basis), log_dt [H], D [H]; Lambda, P, B and log_dt are trainable only when the run trains
    them (lr_ssm > 0)."""

    def __init__(self, p, train_ssm, basis=None):
        super().__init__()
        for name, t in p.items():
            self.register_parameter(name, nn.Parameter(t, requires_grad=train_ssm or name in ("C", "D")))
        if basis is not None:
            self.register_buffer("basis", basis, persistent=False)   # [H, L, N] float64, A, B, Δ frozen

    def kernel(self, L):
        """K [H, L]: the ZOH Vandermonde formula in float64 from the parameters, rounded to their dtype
        (train/ssm_layer.c), or X·C over the dense basis."""
        if hasattr(self, "basis"):
            return torch.einsum("hln,hn->hl", self.basis, self.C.double()).to(self.C.dtype)
        if hasattr(self, "P"):
            return self._dplr_kernel(L)
        lam = torch.view_as_complex(self.Lambda.double().contiguous())
        CB = torch.view_as_complex(self.C.double().contiguous()) * torch.view_as_complex(self.B.double().contiguous())
        dtl = torch.exp(self.log_dt.double())[:, None] * lam                               # [H, M]
        w = CB * (torch.exp(dtl) - 1.0) / lam
        V = torch.exp(dtl[:, :, None] * torch.arange(L, dtype=torch.float64))             # [H, M, L]
        return (2.0 * torch.einsum("hm,hml->hl", w, V).real).to(self.C.dtype)

    def _dplr_kernel(self, L):
        """The S4 DPLR kernel as train/dplr_kernel.c evaluates it, in float64: at w_k = e^{-2 pi i k/L},
        s = 1 + w, a = (2/dt)(1 - w), r = 1/(a - s lam) (and with conj(lam)), the Cauchy sums
        k_ab = sum v r + conj(v) r_conj (v = C B, C P, conj(P) B, |P|^2), X = 2[k00 - s k01 k10/(1 + s k11)],
        K = irfft(X, L); rounded to the parameters' dtype."""
        z = lambda t: torch.view_as_complex(t.double().contiguous())
        lam, P, B, C = z(self.Lambda), z(self.P), z(self.B), z(self.C)
        dt = torch.exp(self.log_dt.double())[:, None, None]                                 # [H, 1, 1]
        k = np.arange(L // 2 + 1)
        t = 2.0 * np.pi * np.minimum(k, L - k) / L
        w = torch.as_tensor(np.cos(t) - 1j * np.where(k <= L - k, np.sin(t), -np.sin(t)))[None, :, None]
        s, a = 1.0 + w, (2.0 / dt) * (1.0 - w)                                              # [1|H, nh, 1]
        r = 1.0 / (a - s * lam[:, None, :])
        rb = 1.0 / (a - s * lam.conj()[:, None, :])                                         # [H, nh, M]
        ksum = lambda v: (v[:, None, :] * r + v.conj()[:, None, :] * rb).sum(-1)            # [H, nh]
        s = s[..., 0]
        k00, k01, k10, k11 = ksum(C * B), ksum(C * P), ksum(P.conj() * B), ksum(P.abs() ** 2 + 0j)
        X = 2.0 * (k00 - s * k01 * k10 / (1.0 + s * k11))
        return torch.fft.irfft(X, n=L).to(self.C.dtype)


class _S5(nn.Module):
    """The S5 layer of one layer (train/s5_layer.c): Lambda [M, 2], B [M, H, 2], C [H, M, 2], log_step [M],
    D [H]; Lambda, B and log_step trainable only when the run trains them.  Computed here as the MIMO
    impulse response K[h, k, ℓ] = 2·Re Σ_n C[h,n] Λ̄_n^ℓ B̄[n,k] (Λ̄ = e^{ΔΛ}, B̄ = (Λ̄ − 1)/Λ · B, float64,
    rounded to the parameters' dtype) and an FFT convolution of length 2L summed over the input channels;
    the engine runs the recurrence instead (the same map up to float rounding)."""

    def __init__(self, p, train_ssm):
        super().__init__()
        for name, t in p.items():
            self.register_parameter(name, nn.Parameter(t, requires_grad=train_ssm or name in ("C", "D")))

    def conv(self, ut):
        """y [B, H, L] (without D u) for ut [B, H, L]."""
        L = ut.shape[-1]
        c = lambda t: torch.view_as_complex(t.double().contiguous())
        lam, B, C = c(self.Lambda), c(self.B), c(self.C)
        dtl = torch.exp(self.log_step.double()) * lam                                      # [M]
        Bbar = ((torch.exp(dtl) - 1.0) / lam)[:, None] * B                                 # [M, H]
        pw = torch.exp(dtl[:, None] * torch.arange(L, dtype=torch.float64))              # [M, L]
        K = (2.0 * torch.einsum("hm,ml,mk->hkl", C, pw, Bbar).real).to(ut.dtype)           # [H, H, L]
        Y = torch.einsum("hkf,bkf->bhf", torch.fft.rfft(K, n=2 * L), torch.fft.rfft(ut, n=2 * L))
        return torch.fft.irfft(Y, n=2 * L)[..., :L]


class _Block(nn.Module):
    def __init__(self, ssm, out, norm):
        super().__init__()
        self.ssm, self.out, self.norm = ssm, out, norm


class EngineModel(nn.Module):
    """The model of ssmkit's training engine (train/train.h) in PyTorch, with the engine's parameter
    names and shapes (its arena: state_dict() keys are the arena names of ssmkit.engine.Engine.params):

        input projection → K × [(pre-LN) → SSM long convolution + D u → GELU → linear (GLU) → dropout →
        residual → (post-LN)] → mean over the sequence → linear decoder

    forward(x [B, L, din], masks=None) → logits [B, nout] (or the prediction [B, 1]); masks: one
    dropout mask [B, L, H] per layer (Engine.dropout_mask), None at evaluation.  The convolution is an
    FFT of length 2L; the kernel is computed in float64 and rounded to the parameters' dtype, as the
    engine does."""

    def __init__(self, params, meta, train_ssm=False, dtype=torch.float32):
        super().__init__()
        self.meta = dict(meta)
        t = lambda name: torch.as_tensor(np.asarray(params[name])).to(dtype).clone()
        self.encoder = _Affine(t("encoder.weight"), t("encoder.bias"))
        blocks = []
        for l in range(meta["K"]):
            pre = f"layers.{l}."
            if meta.get("s5"):
                ssm = _S5({n: t(pre + "ssm." + n) for n in ("Lambda", "B", "C", "log_step", "D")}, train_ssm)
            else:
                names = ("C", "log_dt", "D") if meta["dense"] else ("Lambda", "P", "B", "C", "log_dt", "D") \
                    if meta.get("dplr") else ("Lambda", "B", "C", "log_dt", "D")
                basis = _dense_basis(meta, params[pre + "ssm.log_dt"]) if meta["dense"] else None
                ssm = _SSM({n: t(pre + "ssm." + n) for n in names}, train_ssm and not meta["dense"], basis)
            blocks.append(_Block(ssm, _Affine(t(pre + "out.weight"), t(pre + "out.bias")),
                                 _Norm(t(pre + "norm.weight"), t(pre + "norm.bias"))))
        self.layers = nn.ModuleList(blocks)
        self.decoder = _Affine(t("decoder.weight"), t("decoder.bias"))

    @classmethod
    def from_engine(cls, engine, dtype=torch.float32):
        """The engine's initial model for its config and seed (ssmkit.engine.Engine); also the trained
        model of a ssmkit.engine.Checkpoint, which has the same attributes."""
        meta = {k: getattr(engine, k) for k in ("L", "din", "H", "N", "M", "K", "nout", "Hout", "glu", "prenorm",
                                                 "dense", "dplr", "regression", "dense_A", "dense_B")}
        meta["s5"] = getattr(engine, "s5", False)
        return cls(engine.params, meta, train_ssm=engine.cfg.lr_ssm > 0, dtype=dtype)

    @classmethod
    def from_checkpoint(cls, checkpoint, dtype=torch.float32):
        """The model of a `ssmkit train --checkpoint DIR` run: a path (DIR or DIR/ckpt.bin, read and
        validated by the library: ssmkit.load_checkpoint) or a ssmkit.engine.Checkpoint.  Its forward is
        the engine's evaluation pass (`ssmkit eval DIR`) up to float32 rounding."""
        if not isinstance(checkpoint, Checkpoint):
            checkpoint = load_checkpoint(checkpoint)
        return cls.from_engine(checkpoint, dtype)

    def forward(self, x, masks=None):
        L, glu, pre = x.shape[1], self.meta["glu"], self.meta["prenorm"]
        h = self.encoder(x)                                                       # [B, L, H]
        n = 2 * L
        for l, blk in enumerate(self.layers):
            u = blk.norm(h) if pre else h
            ut = u.transpose(1, 2)                                                # [B, H, L]
            if isinstance(blk.ssm, _S5):
                y = blk.ssm.conv(ut)
            else:
                K = blk.ssm.kernel(L)                                             # [H, L]
                y = torch.fft.irfft(torch.fft.rfft(ut, n=n) * torch.fft.rfft(K, n=n), n=n)[..., :L]
            y = (y + blk.ssm.D[:, None] * ut).transpose(1, 2)
            o = blk.out(torch.nn.functional.gelu(y))
            if glu:
                o = torch.nn.functional.glu(o, dim=-1)
            if masks is not None:
                o = o * torch.as_tensor(masks[l]).to(o.dtype)
            h = h + o if pre else blk.norm(h + o)
        return self.decoder(h.mean(1))


def _dense_basis(meta, log_dt):
    """X [H, L, N] = Ā_h^ℓ B̄_h of the dense real system (A, B) under ZOH with Δ_h = exp(log_dt[h]) (float
    as stored): Ā = expm(ΔA), B̄ = A⁻¹(Ā − I)B, in float64 (train/ssm_layer.c's ssm_train_dense_basis)."""
    A = torch.as_tensor(meta["dense_A"], dtype=torch.float64)
    B = torch.as_tensor(meta["dense_B"], dtype=torch.float64)
    dt = torch.exp(torch.as_tensor(np.asarray(log_dt, dtype=np.float32)).double())
    N = A.shape[0]
    Ab = torch.matrix_exp(dt[:, None, None] * A)                                  # [H, N, N]
    Bb = torch.linalg.solve(A, ((Ab - torch.eye(N, dtype=A.dtype)) @ B).T).T      # [H, N]
    xs, x = [], Bb
    for _ in range(meta["L"]):
        xs.append(x)
        x = torch.einsum("hij,hj->hi", Ab, x)
    return torch.stack(xs, 1)


def _loss(model, out, y, regression, tol):
    """(mean loss, number correct): cross-entropy and argmax, or squared error and |error| < tol."""
    if regression:
        pred = out[:, 0]
        return torch.nn.functional.mse_loss(pred, y), int(((pred - y).abs() < tol).sum())
    return torch.nn.functional.cross_entropy(out, y.long()), int((out.argmax(1) == y.long()).sum())


def engine_evaluate(model, engine, x, y):
    """(mean loss, accuracy) of the model on a split, forward only, in the engine's batches."""
    total, correct, B = 0.0, 0, engine.cfg.batch
    with torch.no_grad():
        for i0 in range(0, len(y), B):
            xb = torch.as_tensor(x[i0:i0 + B]).to(model.encoder.weight.dtype)
            yb = torch.as_tensor(y[i0:i0 + B]).to(model.encoder.weight.dtype)
            loss, c = _loss(model, model(xb), yb, engine.regression, engine.tol)
            total += float(loss) * len(yb)
            correct += c
    return total / len(y), correct / len(y)


def _clip_(params, max_norm):
    """The engine's clip (train/optim.c): the global L2 norm summed in double; scale by max_norm/norm
    (rounded to the gradients' dtype) when above.  Returns the norm."""
    norm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
    if max_norm > 0 and norm > max_norm:
        f = torch.tensor(max_norm / norm, dtype=params[0].grad.dtype)
        for p in params:
            p.grad.mul_(f)
    return norm


def _adamw(model, engine, resume=None):
    """torch.optim.AdamW over the model's trainable parameters in the engine's groups (decay on DECAY,
    none on NODECAY, SSM at lr_ssm, absent when frozen); with a Checkpoint `resume`, its step and moments
    as the optimiser's state.  Returns (optimiser, trainable parameters)."""
    c = engine.cfg
    named = dict(model.named_parameters())
    group = lambda g: [p for n, p in named.items() if engine.groups[n] == g and p.requires_grad]
    groups = [{"params": group(0), "lr": c.lr, "weight_decay": c.wd},
              {"params": group(1), "lr": c.lr, "weight_decay": 0.0}]
    if c.lr_ssm > 0 and group(2):
        groups.append({"params": group(2), "lr": c.lr_ssm, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8)
    trainable = [p for g in groups for p in g["params"]]
    if resume is not None and resume.step > 0:
        ids = {id(p) for p in trainable}
        for n, p in named.items():
            if id(p) in ids:   # the engine's m and v are torch's exp_avg and exp_avg_sq (train/optim.c)
                opt.state[p] = {"step": torch.tensor(float(resume.step)),
                                "exp_avg": torch.as_tensor(resume.exp_avg[n]).to(p.dtype).clone(),
                                "exp_avg_sq": torch.as_tensor(resume.exp_avg_sq[n]).to(p.dtype).clone()}
    return opt, trainable


def _check_resume(engine, ck):
    """A checkpoint continues the engine's run: the same options but epochs and steps, not past its end."""
    if ck.exp_avg is None:
        ssmkit._usage(f"engine_train: {ck.path} is an exported model without optimiser state; resume from the "
                      f"run's checkpoint (DIR or DIR/ckpt.bin)")
    ours = {k: v for k, v in ck.options.items() if k not in ("epochs", "steps")}
    theirs = {k: v for k, v in ssmkit.engine._options(engine.cfg).items() if k not in ("epochs", "steps")}
    if ours != theirs or engine.task != ck.task:
        diff = sorted(k for k in ours if ours[k] != theirs.get(k))
        ssmkit._usage(f"engine_train: the checkpoint {ck.path} is another run (task {ck.task}; differs in: "
                      f"{', '.join(diff) or 'task'}); only epochs and steps may change")
    if engine.total_steps < ck.total_steps:
        ssmkit._usage(f"engine_train: {engine.total_steps} steps would end the run before the checkpoint's "
                      f"planned {ck.total_steps}; a resumed run can only be extended")


def engine_train(engine, dtype=torch.float32, on_step=None, resume=None):
    """`ssmkit train`'s run in plain PyTorch: the engine's initial model (EngineModel.from_engine), its data
    order (engine.batches()), dropout masks, torch.optim.AdamW (β 0.9/0.999, ε 1e-8; decay `wd` on the
    weights and C, none on biases, D and LayerNorm; Λ, B, log Δ in their own group at lr_ssm, absent
    when frozen) under LambdaLR with the engine's warm-up + cosine factor, the global-norm clip, and the
    Re Λ ≤ −1e-4 clamp when Λ trains.  on_step(step, loss) is called after every step.
    resume: a ssmkit.engine.Checkpoint (or its path) of this run (Engine(ck.task, **ck.options), epochs
    or steps possibly raised): training continues from its weights, AdamW moments and step, epoch sums
    and log, as `ssmkit train --resume` does.
    Returns (model, losses [total_steps] (the mean loss of each batch, as the engine's per-epoch sums
    use it; with resume, of the steps run here), rows: one dict per epoch with the keys of the engine's
    log (epoch, step, train_loss, train_acc, val_loss, val_acc; with resume the checkpoint's rows first))."""
    if resume is not None and not isinstance(resume, Checkpoint):
        resume = load_checkpoint(resume)
    if resume is not None:
        _check_resume(engine, resume)
    model = EngineModel.from_engine(resume if resume is not None else engine, dtype)
    start = resume.step if resume is not None else 0
    opt, trainable = _adamw(model, engine, resume)
    c = engine.cfg
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: engine.lr_scale(start + k))
    keys = ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc")
    rows = [{k: r[k] for k in keys} for r in resume.rows] if resume is not None else []
    ep_loss, ep_correct, ep_count = (0.0, 0, 0) if resume is None else \
        (resume.ep_loss, resume.ep_correct, resume.ep_count)
    losses = []
    for step, epoch, idx in engine.batches():
        if step < start:
            continue
        x = torch.as_tensor(engine.train_x[idx]).to(dtype)
        y = torch.as_tensor(engine.train_y[idx]).to(dtype)
        masks = [engine.dropout_mask(step, idx, l) for l in range(engine.K)] if engine.dropout > 0 else None
        loss, correct = _loss(model, model(x, masks), y, engine.regression, engine.tol)
        opt.zero_grad()
        loss.backward()
        _clip_(trainable, c.clip)
        opt.step()
        sched.step()
        if c.lr_ssm > 0 and not engine.dense:
            with torch.no_grad():
                for blk in model.layers:
                    blk.ssm.Lambda[..., 0].clamp_(max=-1e-4)
        losses.append(float(loss))
        ep_loss, ep_correct, ep_count = ep_loss + float(loss) * len(idx), ep_correct + correct, ep_count + len(idx)
        if on_step:
            on_step(step, float(loss))
        i = step % engine.spe
        if i + 1 == engine.spe or step + 1 == engine.total_steps:
            vl, va = engine_evaluate(model, engine, engine.val_x, engine.val_y)
            rows.append({"epoch": epoch + (i + 1) / engine.spe, "step": step + 1, "train_loss": ep_loss / ep_count,
                         "train_acc": ep_correct / ep_count, "val_loss": vl, "val_acc": va})
            ep_loss, ep_correct, ep_count = 0.0, 0, 0
    return model, losses, rows
