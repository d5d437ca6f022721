"""ssmkit.torch: S4DKernel's parameters and kernel (against numpy in float64 and against the C
engine's own model built from the same init file), the engine's S5 layer against ssmkit.S5SSM's
recurrence and S5's init recipe, and the Fourier-mode noise."""
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
    for method, N, flags in (("s4d-legs", 64, []), ("ptd", 32, ["--eps", "0.1"]), ("s4d-lin", 64, [])):
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


# ---- the engine's S5 layer (train/s5_layer.c) -------------------------------------------------------

class _S5View(ctypes.Structure):   # ssm_train_s5 (train/train.h)
    _fields_ = [("H", ctypes.c_size_t), ("M", ctypes.c_size_t)] + \
        [(n, F) for n in ("lam", "B", "C", "logstep", "D", "W", "Ct")] + [("zq", ctypes.POINTER(ctypes.c_double))]


def _s5_engine(path, H, N, seed):
    """The C engine's S5 model from an init file (1 layer): its layer-0 S5 parameters (float32 arrays,
    S5's shapes) and whether it chose the S5 layer."""
    cfg = ssmkit.engine.TrainConfig()
    lib.ssm_train_config_default(ctypes.byref(cfg))
    cfg.init = path.encode()
    cfg.d_model, cfg.d_state, cfg.n_layers, cfg.seed = H, N, 1, seed
    m = ctypes.POINTER(ssmkit.engine.TrainModel)()
    ssmkit._check(lib.ssm_train_model_create(ctypes.byref(m), ctypes.byref(cfg), 50, 1, 10, 0))
    try:
        mm = m.contents
        arena = np.ctypeslib.as_array(mm.params, shape=(mm.n_params,))
        names = [t.name.decode() for t in mm.tensors[:mm.n_tensors]]
        get = lambda k: (lambda t: arena[t.offset:t.offset + t.count].copy())(
            lib.ssm_train_model_tensor(m, f"layers.0.ssm.{k}".encode()).contents)
        M = mm.M
        p = {"Lambda": get("Lambda").reshape(M, 2), "B": get("B").reshape(M, H, 2), "C": get("C").reshape(H, M, 2),
             "log_step": get("log_step"), "D": get("D")}
        return p, "layers.0.ssm.log_step" in names and "layers.0.ssm.log_dt" not in names
    finally:
        lib.ssm_train_model_free(m)


def _s5_layer_c(p, u):
    """y [B, L, H] of the C layer (ssm_train_s5_discretize + ssm_train_s5_forward) on u [B, L, H]."""
    M, H = p["B"].shape[0], p["B"].shape[1]
    Bn, L = u.shape[0], u.shape[1]
    arrs = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in p.items()}
    W, Ct, zq = np.zeros(H * 2 * M, np.float32), np.zeros(2 * M * H, np.float32), np.zeros(4 * M)
    ptr = lambda a: a.ctypes.data_as(F)
    v = _S5View(H, M, ptr(arrs["Lambda"]), ptr(arrs["B"]), ptr(arrs["C"]), ptr(arrs["log_step"]), ptr(arrs["D"]),
                ptr(W), ptr(Ct), zq.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
    lib.ssm_train_s5_discretize.restype = ctypes.c_int
    ssmkit._check(lib.ssm_train_s5_discretize(ctypes.byref(v)))
    uc = np.ascontiguousarray(u, dtype=np.float32)
    y, X = np.zeros_like(uc), np.zeros((Bn, L, 2 * M), np.float32)
    lib.ssm_train_s5_forward(ptr(y), ptr(X), ctypes.byref(v), ptr(uc), ctypes.c_size_t(Bn), ctypes.c_size_t(L))
    return y


def test_s5_layer_vs_s5ssm():
    """An S5 init selects the S5 layer; its parameters are S5's recipe (B̃ = V⁻¹B with B real, truncated
    normal, std 1/√N) and its output is S5SSM's recurrence (s5/ssm.py's apply_ssm, in float64) on the
    engine's own float parameters."""
    H, L, worst, rows = 6, 400, 0.0, []
    for method, N, flags in (("s5-legs", 16, ["--blocks", "2"]), ("ptd", 16, ["--eps", "0.1", "--blocks", "2"])):
        path = tmp(f"eng-s5-{method}-{N}.safetensors")
        cli("init", method, "-N", N, "-o", path, "-q", *flags)
        f = ssmkit.load(path)
        p, is_s5 = _s5_engine(path, H, N, seed=5)
        assert is_s5, method
        c = lambda a: a[..., 0].astype(np.float64) + 1j * a[..., 1].astype(np.float64)
        assert np.array_equal(p["Lambda"], f.raw["Lambda"].astype(np.float32))
        # B̃ = V⁻¹B with B real: V B̃ over the conjugate-closed set, 2 Re(V B̃), gives B back (imaginary part
        # of V B̃ + conj(V B̃) is 0 by construction); B's entries lie within the truncation ±2 std/0.8796
        Bt = c(p["B"])                                                               # [M, H]
        Breal = 2.0 * (f.tensors["V"] @ Bt).real                                     # [N, H]
        sd = 1.0 / math.sqrt(N)
        assert np.max(np.abs(Breal)) <= 2.0 * sd / 0.87962566103423978 * (1 + 1e-5), np.max(np.abs(Breal))
        Vinv = f.tensors.get("Vinv")
        Vinv = f.tensors["V"].conj().T if Vinv is None else Vinv
        back = Vinv @ Breal                                                          # V⁻¹B = B̃
        assert np.max(np.abs(back - Bt)) <= 1e-5 * np.max(np.abs(Bt)), np.max(np.abs(back - Bt))
        assert 0.5 < np.std(Breal) * math.sqrt(N) < 1.5, np.std(Breal) * math.sqrt(N)
        # the layer's output: S5SSM (numpy, float64) on the same float parameters
        s = ssmkit.S5SSM(p["Lambda"][:, 0].astype(np.float64), p["Lambda"][:, 1].astype(np.float64),
                         p["B"].astype(np.float64), p["C"].astype(np.float64), p["D"].astype(np.float64),
                         p["log_step"].astype(np.float64)[:, None])
        u = np.random.default_rng(2).standard_normal((2, L, H)).astype(np.float32)
        yc = _s5_layer_c(p, u)
        yr = np.stack([s(u[b].astype(np.float64)) for b in range(2)])
        err = float(np.max(np.abs(yc - yr)) / np.max(np.abs(yr)))
        worst = max(worst, err)
        rows.append(f"{method} {err:.1e}")
    # float32 projections (sums of 2M and H terms) around a double recurrence: ~1e-7 of the largest output
    assert worst <= 1e-5, rows
    return f"H={H} N=16 L={L}: max |y_engine - y_S5SSM| / max|y| " + ", ".join(rows)


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
