"""ssmkit.s5.S5SSM: the S5 repository's names and shapes from init files, its B̃ = V⁻¹B recipe, and the
discretised system's impulse response against ssmkit's kernel, an independent dense route (scipy's
expm of the file's real state matrix) and ssmkit's transfer function at ω = 0."""
import math

import numpy as np
import scipy.linalg
import torch

import ssmkit
from ssmkit.s5 import S5SSM
from ssmkit.torch import S4DKernel
from common import cli, tmp


def _file(method, N, *flags):
    path = tmp(f"s5-{method}-{N}{''.join(flags)}.safetensors")
    cli("init", method, "-N", N, "-o", path, "-q", *flags)
    return path


def test_s5_names_shapes_recipe():
    rows = []
    for path in (_file("s5-legs", 16, "--blocks", "2"), _file("ptd", 16, "--eps", "0.1", "--blocks", "2")):
        f = ssmkit.load(path)
        s = S5SSM.from_init(path, H=6, seed=4)
        p = s.params()
        shapes = {k: v.shape for k, v in p.items()}
        assert shapes == {"Lambda_re": (8,), "Lambda_im": (8,), "B": (8, 6, 2), "C": (6, 8, 2), "D": (6,),
                          "log_step": (8, 1)}, shapes
        assert all(v.dtype == np.float64 for v in p.values())
        assert np.array_equal(p["Lambda_re"] + 1j * p["Lambda_im"], f.lambda_) and np.all(p["Lambda_im"] <= 0)
        # B̃ = V⁻¹B with B real [N, H]: over the conjugate-closed set B = V_f V_f⁻¹ B = 2 Re(V B̃), and
        # V⁻¹ of that real B gives B̃ back (V⁻¹ conj(V) = 0 for the kept rows)
        Bt = p["B"][..., 0] + 1j * p["B"][..., 1]
        V = f.tensors["V"]
        Vinv = f.tensors.get("Vinv", V.conj().T)
        Breal = 2 * (V @ Bt).real
        back = float(np.max(np.abs(Vinv @ Breal - Bt)) / np.max(np.abs(Bt)))
        assert back < 1e-12, back
        std = 1 / math.sqrt(16)   # lecun_normal, fan_in = N; truncated at 2 units, rescaled by 1/0.8796
        assert np.max(np.abs(Breal)) <= 2 * std / 0.87962566103423978 * (1 + 1e-12)
        dt = np.exp(p["log_step"])
        assert np.all((dt >= 1e-3) & (dt <= 1e-1))
        t = s.torch()
        assert set(t) == set(p) and all(v.dtype == torch.float32 for v in t.values())
        rows.append(f"{f.method}: V^-1 (2 Re V B~) = B~ to {back:.0e}")
    return "; ".join(rows)


def _dense_kernel(A, B, C, dt, L, method="zoh"):
    """K_ℓ = C Ā^ℓ B̄ of the real dense system: ZOH Ā = expm(ΔA), B̄ = A⁻¹(Ā − I)B (scipy), or bilinear."""
    N = A.shape[0]
    I = np.eye(N)
    if method == "zoh":
        Ab = scipy.linalg.expm(dt * A)
        Bb = np.linalg.solve(A, (Ab - I) @ B)
    else:
        Ab = np.linalg.solve(I - dt / 2 * A, I + dt / 2 * A)
        Bb = np.linalg.solve(I - dt / 2 * A, dt * B)
    K, x = np.zeros(L), Bb
    for l in range(L):
        K[l] = (C @ x).real
        x = Ab @ x
    return K


def test_s5_impulse_response_vs_ssmkit():
    L, dt, rows, worst = 400, 0.05, [], {}
    for path in (_file("s5-legs", 16, "--blocks", "2"), _file("ptd", 16, "--eps", "0.1"),
                 _file("s4d-legs", 16)):
        f = ssmkit.load(path)
        for disc in ("zoh", "bilinear"):
            s = S5SSM.from_init(f, H=1, B="file", C="file", log_step=math.log(dt), discretization=disc)
            # the S5 recurrence driven by a unit impulse, against the closed-form kernel
            u = np.zeros((L, 1))
            u[0, 0] = 1.0
            y = s(u)[:, 0] - s.D[0] * u[:, 0]
            K = s.kernel(L)[:, 0, 0]
            worst["recurrence"] = max(worst.get("recurrence", 0), float(np.max(np.abs(y - K)) / np.max(np.abs(K))))
            # the dense real system of the file's model (A = V Λ V⁻¹ over the conjugate-closed set, B_target,
            # C_target), discretised by expm / a linear solve: no eigenvalues involved
            A = ssmkit.state_matrix(f).real.copy()
            Kd = _dense_kernel(A, f.tensors["B_target"], f.tensors["C_target"], dt, L, disc)
            e = float(np.max(np.abs(K - Kd)) / np.max(np.abs(Kd)))
            worst[disc] = max(worst.get(disc, 0), e)
            if disc == "zoh":
                # ssmkit's S4D kernel (B̃ folded into C, Δ the same) is the same ZOH impulse response
                k = S4DKernel.from_init(f, 1, C="file", log_dt=[math.log(dt)], dtype=torch.float64)
                Ks = k(L).detach().numpy()[0]
                worst["s4d"] = max(worst.get("s4d", 0), float(np.max(np.abs(K - Ks)) / np.max(np.abs(Ks))))
                # ZOH keeps the DC gain: Σ_ℓ K_ℓ = G(0); tail after Lt steps below |K_0|·r^Lt/(1 − r), r = max|Λ̄|
                Lt = 4000
                Kt = s.kernel(Lt)[:, 0, 0]
                r = float(np.max(np.abs(s.discretize()[0])))
                G0 = ssmkit.transfer(f, [0.0])[0]
                tail = np.sum(np.abs(s.kernel(1)[0])) * 2 * r ** Lt / (1 - r)
                assert abs(G0.imag) < 1e-12 * abs(G0.real)
                assert abs(Kt.sum() - G0.real) <= 1e-12 * abs(G0.real) + tail, (f.method, Kt.sum(), G0, tail)
                worst["dc"] = max(worst.get("dc", 0), abs(Kt.sum() - G0.real) / abs(G0.real))
        rows.append(f.method)
    # tolerances: recurrence vs closed form and vs the S4D formula are the same sums in another order
    # (1e-12); the dense route differs by the conditioning of V (kappa <= ~10 here) times the rounding of
    # expm and of the stored decomposition (backward error ~1e-15): 1e-10
    assert worst["recurrence"] <= 1e-12 and worst["s4d"] <= 1e-12, worst
    assert worst["zoh"] <= 1e-10 and worst["bilinear"] <= 1e-10, worst
    return f"{', '.join(rows)}, L={L}, dt={dt}: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())


def test_s5_refusals():
    msgs = []
    for init, kw in ((ssmkit.init("s4-dplr", 8), {}), (ssmkit.init("s4d-lin", 8), {}),
                     (ssmkit.init("s5-legs", 8), {"C": "nope"}), (ssmkit.init("s5-legs", 8), {"B": np.ones((3, 2))}),
                     (ssmkit.init("s5-legs", 8), {"discretization": "euler"})):
        try:
            S5SSM.from_init(init, H=2, **kw)
            raise AssertionError(f"{init} {kw}: accepted")
        except ValueError as e:
            msgs.append(str(e))
    ok = S5SSM.from_init(ssmkit.init("s4d-lin", 8), H=3, B="file", C="complex_normal")
    assert ok.params()["C"].shape == (3, 4, 2)
    return f"{len(msgs)} refusals, e.g. {msgs[1][:70]!r}..."
