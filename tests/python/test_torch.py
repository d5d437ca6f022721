"""ssmkit.torch: S4DKernel's parameters and kernel (against numpy in float64 and against the C
engine's own model built from the same init file), and the Fourier-mode noise."""
import ctypes
import math

import numpy as np
import torch

import ssmkit
import ssmkit.engine
from ssmkit import _lib
from ssmkit.torch import S4DKernel, fourier_noise, engine_stream, engine_uniform, noise_uniforms
from common import tmp, cli

lib = _lib.lib
F = ctypes.POINTER(ctypes.c_float)


def numpy_kernel(log_dt, lam, CB, L):
    """K[h, ℓ] = 2 Re Σ_n CB[h,n] (z − 1)/λ z^ℓ with z = e^{Δ_h λ}, as train/ssm_layer.c (powers by
    repeated multiplication), independent of torch."""
    H, M = CB.shape
    K = np.zeros((H, L))
    for h in range(H):
        dt = math.exp(log_dt[h])
        z = np.exp(dt * lam[h])
        w = CB[h] * (z - 1.0) / lam[h]
        for l in range(L):
            K[h, l] = 2.0 * np.sum(w).real
            w = w * z
    return K


def test_parameters_names_shapes():
    f = ssmkit.init("s4d-legs", 16)
    k = S4DKernel.from_init(f, H=6)
    shapes = {n: tuple(p.shape) for n, p in k.named_parameters()}
    assert shapes == {"C": (6, 8, 2), "log_dt": (6,), "log_A_real": (6, 8), "A_imag": (6, 8)}, shapes
    frozen = S4DKernel.from_init(f, H=6, lr=0.0)
    assert [n for n, _ in frozen.named_parameters()] == ["C"]
    assert set(frozen.state_dict()) == {"C", "log_dt", "log_A_real", "A_imag"}
    assert torch.allclose(torch.exp(k.log_A_real[0].double()), torch.from_numpy(-f.lambda_.real).float().double())
    dt = torch.exp(k.log_dt)
    assert bool((dt >= 1e-3 * (1 - 1e-6)).all() and (dt <= 1e-1 * (1 + 1e-6)).all())
    for bad in ("s4-dplr",):
        try:
            S4DKernel.from_init(ssmkit.init(bad, 8), H=2)
            raise AssertionError("DPLR accepted")
        except ValueError:
            pass
    return "log_dt [H], C [H,M,2], log_A_real [H,M], A_imag [H,M]; lr=0 -> buffers; DPLR refused"


def test_kernel_float64_vs_numpy():
    worst = 0.0
    for method, N, kw in (("s4d-legs", 16, {}), ("s4d-lin", 16, {}), ("ptd", 16, {"eps": 0.1}),
                          ("s5-legs", 16, {"blocks": 2}), ("s4d-inv", 8, {})):
        f = ssmkit.init(method, N, **kw)
        for C in ("random", "file"):
            k = S4DKernel.from_init(f, H=5, seed=3, C=C, dtype=torch.float64)
            L = 300
            K = k(L).detach().numpy()
            CB = torch.view_as_complex(k.C.detach()).numpy()
            lam = -np.exp(k.log_A_real.detach().numpy()) + 1j * k.A_imag.detach().numpy()
            Kn = numpy_kernel(k.log_dt.detach().numpy(), lam, CB, L)
            worst = max(worst, float(np.max(np.abs(K - Kn)) / np.max(np.abs(Kn))))
            # the fold: C·B̃ exactly, Λ from the file
            if C == "file":
                assert np.allclose(CB[0], f.C_tilde * f.B_tilde, rtol=1e-15, atol=0)
            assert np.allclose(lam[0], f.lambda_, rtol=1e-15, atol=0)
    half = S4DKernel.from_init(f, H=2, seed=1, b_half=True, dtype=torch.float64)(50)
    full = S4DKernel.from_init(f, H=2, seed=1, dtype=torch.float64)(50)
    assert torch.allclose(2 * half, full, rtol=1e-14, atol=0)
    assert worst <= 1e-12, worst
    return f"5 inits x 2 C choices, L=300: max |K_torch - K_numpy| / max |K| = {worst:.1e}; b_half halves K"


# ---- the C engine's model (train/train.h), mirrored just far enough to reach params and kernel -----

from ssmkit.engine import TrainConfig, TrainModel   # noqa: E402  (the ctypes mirrors of train/train.h)


def engine_kernel(path, H, N, L, seed=0):
    """The C engine's model from an init file (1 layer): its SSM parameters and its kernel [H, L]."""
    cfg = TrainConfig()
    lib.ssm_train_config_default(ctypes.byref(cfg))
    cfg.init = path.encode()
    cfg.d_model, cfg.d_state, cfg.n_layers, cfg.seed, cfg.lr_ssm = H, N, 1, seed, 0.0
    m = ctypes.POINTER(TrainModel)()
    ssmkit._check(lib.ssm_train_model_create(ctypes.byref(m), ctypes.byref(cfg), L, 1, 10, 0))
    try:
        ssmkit._check(lib.ssm_train_model_kernels(m, 0))
        mm = m.contents
        arena = np.ctypeslib.as_array(mm.params, shape=(mm.n_params,))

        def get(name):
            t = lib.ssm_train_model_tensor(m, name.encode()).contents
            return arena[t.offset:t.offset + t.count].copy()
        M = mm.M
        p = {k: get(f"layers.0.ssm.{k}") for k in ("Lambda", "B", "C", "log_dt")}
        p = {k: (v.reshape(H, M, 2) if k != "log_dt" else v) for k, v in p.items()}
        K = np.ctypeslib.as_array(mm.kernel, shape=(H * L,)).copy().reshape(H, L)
        return p, K
    finally:
        lib.ssm_train_model_free(m)


def test_kernel_vs_c_engine():
    H, L, worst, worst2, rows = 8, 784, 0.0, 0.0, []
    for method, N, flags in (("s4d-legs", 64, []), ("ptd", 32, ["--eps", "0.1"]), ("s4d-lin", 64, []),
                             ("s5-legs", 32, [])):
        path = tmp(f"eng-{method}-{N}.safetensors")
        cli("init", method, "-N", N, "-o", path, "-q", *flags)
        f = ssmkit.load(path)
        p, Kc = engine_kernel(path, H, N, L, seed=11)
        c = lambda a: a[..., 0].astype(np.float64) + 1j * a[..., 1].astype(np.float64)
        lam, B, C = c(p["Lambda"]), c(p["B"]), c(p["C"])
        # the engine takes Λ and B̃ from the file, rounded to float
        assert np.array_equal(p["Lambda"][0], f.raw["Lambda"].astype(np.float32))
        assert np.array_equal(p["B"][0], f.raw["B"].astype(np.float32))
        # S4DKernel with the engine's Δ and C (B̃ folded in), in float64
        k = S4DKernel.from_init(f, H, C=C * 1.0, log_dt=p["log_dt"].astype(np.float64), dtype=torch.float64)
        # the engine multiplies its float C and float B̃; fold those exact values for the comparison
        with torch.no_grad():
            k.C.copy_(torch.view_as_real(torch.from_numpy(C * B)))
            k.log_A_real.copy_(torch.from_numpy(np.log(-lam.real)))
            k.A_imag.copy_(torch.from_numpy(lam.imag))
        Kt = k(L).detach().numpy()
        err = float(np.max(np.abs(Kt - Kc)) / np.max(np.abs(Kc)))
        # from_init's own path (file values in double, not rounded to float): same kernel to float accuracy
        k2 = S4DKernel.from_init(f, H, C=C, log_dt=p["log_dt"].astype(np.float64), dtype=torch.float64)
        err2 = float(np.max(np.abs(k2(L).detach().numpy() - Kc)) / np.max(np.abs(Kc)))
        worst = max(worst, err)
        worst2 = max(worst2, err2)
        rows.append(f"{method} {err:.1e}/{err2:.1e}")
    # float32 engine: its own float parameters agree to float rounding; the file's doubles differ by
    # the float rounding of Λ and B̃, amplified along ℓ (ℓ Δ δΛ)
    assert worst <= 1e-6 and worst2 <= 5e-5, rows
    return f"H={H} L={L}: max |K_torch - K_engine| / max|K| (engine's float params / file's double) " + \
        ", ".join(rows)


def test_noise():
    # the engine's counter-based streams, in Python and in the library
    for a, b, c, d in ((0, 0, 0, 0), (7, 123, 2, 31), (2**63 + 5, 2**40, 3, 1)):
        s = engine_stream(a, b, c, d)
        assert s == lib.ssm_train_stream(a, b, c, d)
        st = ctypes.c_uint64(s)
        assert engine_uniform(s)[1] == lib.ssm_train_uniform(ctypes.byref(st))
    log_dt = torch.log(torch.tensor([1e-3, 1e-2, 0.05], dtype=torch.float64))
    U = noise_uniforms(4, 3, ids=[10, 11, 12, 13], layer=1, seed=99)
    n = fourier_noise(325.4, 0.1, log_dt, 50, U=U, dtype=torch.float64)
    ell = np.arange(50)
    ref = 0.1 * U.numpy()[:, :, None] * np.cos(325.4 * np.exp(log_dt.numpy())[None, :, None] * ell)
    assert n.shape == (4, 3, 50) and np.max(np.abs(n.numpy() - ref)) < 1e-12
    g = torch.Generator().manual_seed(0)
    n2 = fourier_noise(325.4, 0.3, log_dt, 50, batch=2, generator=g)
    assert n2.shape == (2, 3, 50) and n2.dtype == torch.float32 and float(n2.abs().max()) <= 0.3
    return "splitmix64 streams = ssm_train_stream/uniform; noise = amp U cos(omega dt l) to 1e-12 (torch vs numpy libm)"
