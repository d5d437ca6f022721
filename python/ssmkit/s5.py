"""ssmkit.s5 — an ssmkit init file as the parameters of the S5 repository's S5SSM (lindermanlab/S5,
s5/ssm.py and s5/ssm_init.py), numpy first, torch tensors on request.

    s = ssmkit.s5.S5SSM.from_init("s5.safetensors", H=128)   # or an ssmkit.InitFile
    s.params()        # {"Lambda_re": [P], "Lambda_im": [P], "B": [P, H, 2], "C": [H, P, 2], "D": [H], "log_step": [P, 1]}
    s.torch()         # the same as torch tensors
    s(u)              # u [L, H] -> y [L, H], the S5 recurrence (apply_ssm) plus D u
    s.kernel(L)       # [L, H_out, H_in] impulse response of the discretised system

Names, shapes and conventions are those of S5SSM with conj_sym=True: P = the number of stored modes
(M = N/2, their conjugates implied, output 2·Re(C̃ x)); with a --no-conj-sym file P = N and the output
is Re(C̃ x), as S5 with conj_sym=False.  Λ comes from the file (Im λ ≤ 0 for the kept modes, as the S5
code's eigh order gives them).  The S5 recipe (its init_VinvB / init_CV):

    B̃ = V⁻¹ B,  B real [N, H] ~ lecun_normal (truncated normal, std 1/√N)      B="lecun_normal" (default)
    C̃ = C V,    C complex [H, N], parts ~ lecun_normal over (1, N, 2) (std 1/√N)  C="trunc_standard_normal" (default)
    C̃ complex normal, std √½ per part, no V                                      C="complex_normal"
    D ~ N(0, 1) [H];  log Δ ~ U[log dt_min, log dt_max] [P, 1]

V and V⁻¹ are the file's (`V`, and `Vinv` where stored, else V* for the unitary V of S5-LegS, per
block); a PTD file thus gives the S5-PTD init (Ṽ⁻¹B, CṼ).  B="file" / C="file" use the file's own B̃
(= V⁻¹ B_target) for every input channel and C̃ (= C_target V) for every output channel; arrays of the
right shape are taken as given.  The draws follow S5's distributions from a numpy Generator(seed), not
JAX's random bits.

Discretisation (s5/ssm.py): ZOH Λ̄ = e^{ΛΔ}, B̄ = (Λ̄ − 1)/Λ · B̃; bilinear Λ̄ = (1 + ΔΛ/2)/(1 − ΔΛ/2),
B̄ = Δ/(1 − ΔΛ/2) · B̃.  Recurrence x_k = Λ̄ x_{k−1} + B̄ u_k, y_k = 2·Re(C̃ x_k) + D ⊙ u_k."""
import math
import os

import numpy as np

__all__ = ["S5SSM"]


def _trunc_normal(rng, shape, std):
    """jax.nn.initializers.lecun_normal's draw: a normal truncated to ±2 standard units, rescaled
    (÷ 0.87962566103423978, the standard deviation of the truncated unit normal) to have std `std`."""
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return x * (std / 0.87962566103423978)


def _as_init(init):
    import ssmkit
    return init if isinstance(init, ssmkit.InitFile) else ssmkit.load(os.fspath(init))


def _cplx(a, shape, what):
    a = np.asarray(a)
    if a.shape == shape + (2,):
        a = a[..., 0] + 1j * a[..., 1]
    if a.shape != shape:
        raise ValueError(f"S5SSM.from_init: {what} has shape {a.shape}, expected {shape} (complex) or {shape + (2,)}")
    return a.astype(np.complex128)


class S5SSM:
    """The parameters of S5's S5SSM from an ssmkit init file (see the module doc), float64 numpy arrays:
    Lambda_re [P], Lambda_im [P], B [P, H, 2], C [H, P, 2], D [H], log_step [P, 1]; conj_sym,
    discretization ("zoh" or "bilinear"), step_rescale as S5SSM's fields."""

    def __init__(self, Lambda_re, Lambda_im, B, C, D, log_step, conj_sym=True, discretization="zoh",
                 step_rescale=1.0):
        P, H = B.shape[0], B.shape[1]
        shapes = {"Lambda_re": (Lambda_re.shape, (P,)), "Lambda_im": (Lambda_im.shape, (P,)),
                  "B": (B.shape, (P, H, 2)), "C": (C.shape, (H, P, 2)), "D": (D.shape, (H,)),
                  "log_step": (log_step.shape, (P, 1))}
        for k, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"S5SSM: {k} has shape {tuple(got)}, expected {want}")
        if discretization not in ("zoh", "bilinear"):
            raise ValueError(f"S5SSM: discretization must be zoh or bilinear, got {discretization!r}")
        self.Lambda_re, self.Lambda_im, self.B, self.C, self.D, self.log_step = \
            Lambda_re, Lambda_im, B, C, D, log_step
        self.P, self.H = P, H
        self.conj_sym, self.discretization, self.step_rescale = conj_sym, discretization, step_rescale

    @classmethod
    def from_init(cls, init, H, dt_min=1e-3, dt_max=1e-1, seed=0, B="lecun_normal", C="trunc_standard_normal",
                  log_step=None, discretization="zoh", step_rescale=1.0):
        """S5SSM parameters for H features from an init file (path or ssmkit.InitFile); see the module
        doc for B, C and the draws.  log_step: given [P, 1] (or [P], or a scalar Δ's log for every
        state), else log-uniform in [dt_min, dt_max].  DPLR files (s4-dplr: a rank term P) are
        refused: S5's state matrix is diagonal."""
        f = _as_init(init)
        if f.r:
            raise ValueError(f"S5SSM.from_init: {f.method} has a rank-{f.r} term P (DPLR); S5 needs a diagonal init "
                             "(s5-legs, ptd, s4d-*)")
        H, P, N = int(H), f.M, f.N
        rng = np.random.default_rng(seed)
        V = f.tensors.get("V")
        Vinv = f.tensors.get("Vinv")
        if Vinv is None and V is not None:
            Vinv = V.conj().T   # S5-LegS: V unitary per block (the NPLR of the normal part)
        need_v = (isinstance(B, str) and B == "lecun_normal") or (isinstance(C, str) and C == "trunc_standard_normal")
        if need_v and V is None:
            raise ValueError(f"S5SSM.from_init: {f.method} stores no eigenvectors V, so S5's B̃ = V⁻¹B and C̃ = CV "
                             "cannot be formed; use B='file' and C='file' or 'complex_normal', or give arrays")
        Bt = cls._input_matrix(B, f, rng, H, P, N, Vinv)
        Ct = cls._output_matrix(C, f, rng, H, P, N, V)
        D = rng.standard_normal(H)
        if log_step is None:
            lo, hi = math.log(dt_min), math.log(dt_max)
            log_step = rng.uniform(size=(P, 1)) * (hi - lo) + lo
        else:
            log_step = np.broadcast_to(np.asarray(log_step, dtype=np.float64).reshape(-1, 1), (P, 1)).copy()
        lam = f.lambda_
        stack = lambda z: np.stack([z.real, z.imag], axis=-1)
        s = cls(lam.real.copy(), lam.imag.copy(), stack(Bt), stack(Ct), D, log_step, conj_sym=f.conj_sym,
                discretization=discretization, step_rescale=step_rescale)
        s.init_method = f.method
        return s

    @staticmethod
    def _input_matrix(B, f, rng, H, P, N, Vinv):
        if isinstance(B, str) and B == "lecun_normal":      # init_VinvB(lecun_normal(), (N, H)): fan_in = N
            return Vinv @ _trunc_normal(rng, (N, H), 1.0 / math.sqrt(N))
        if isinstance(B, str) and B == "file":
            return np.repeat(f.B_tilde[:, None], H, axis=1)
        if isinstance(B, str):
            raise ValueError(f"S5SSM.from_init: B must be 'lecun_normal', 'file' or an array, got {B!r}")
        return _cplx(B, (P, H), "B")

    @staticmethod
    def _output_matrix(C, f, rng, H, P, N, V):
        if isinstance(C, str) and C == "trunc_standard_normal":   # per row lecun_normal over (1, N, 2)
            c = _trunc_normal(rng, (H, N, 2), 1.0 / math.sqrt(N))
            return (c[..., 0] + 1j * c[..., 1]) @ V
        if isinstance(C, str) and C == "complex_normal":
            c = rng.standard_normal((H, P, 2)) * math.sqrt(0.5)
            return c[..., 0] + 1j * c[..., 1]
        if isinstance(C, str) and C == "file":
            return np.repeat(f.C_tilde[None, :], H, axis=0)
        if isinstance(C, str):
            raise ValueError(f"S5SSM.from_init: C must be 'trunc_standard_normal', 'complex_normal', 'file' or an "
                             f"array, got {C!r}")
        return _cplx(C, (H, P), "C")

    # ---- the arrays under S5's names ----------------------------------------------------------

    def params(self):
        """{name: float64 array} with S5SSM's parameter names and shapes."""
        return {"Lambda_re": self.Lambda_re, "Lambda_im": self.Lambda_im, "B": self.B, "C": self.C, "D": self.D,
                "log_step": self.log_step}

    def torch(self, dtype=None):
        """The parameters as torch tensors (default float32, as S5 trains them)."""
        import torch
        dtype = dtype or torch.float32
        return {k: torch.as_tensor(v).to(dtype) for k, v in self.params().items()}

    # ---- the discretised system ------------------------------------------------------------------

    def discretize(self):
        """(Λ̄ [P], B̄ [P, H]) complex128, as s5/ssm.py's discretize_zoh / discretize_bilinear."""
        lam = self.Lambda_re + 1j * self.Lambda_im
        Bt = self.B[..., 0] + 1j * self.B[..., 1]
        step = self.step_rescale * np.exp(self.log_step[:, 0])
        if self.discretization == "zoh":
            lam_bar = np.exp(lam * step)
            return lam_bar, ((lam_bar - 1.0) / lam)[:, None] * Bt
        bl = 1.0 / (1.0 - step / 2.0 * lam)
        return bl * (1.0 + step / 2.0 * lam), (bl * step)[:, None] * Bt

    def __call__(self, u):
        """y [L, H] for u [L, H]: x_k = Λ̄ x_{k−1} + B̄ u_k (x_{−1} = 0), y_k = 2·Re(C̃ x_k) + D ⊙ u_k (the
        factor 2 with conj_sym), step by step as the scan of apply_ssm computes it."""
        u = np.asarray(u, dtype=np.float64)
        lam_bar, B_bar = self.discretize()
        Ct = self.C[..., 0] + 1j * self.C[..., 1]
        x = np.zeros(self.P, complex)
        y = np.empty_like(u)
        two = 2.0 if self.conj_sym else 1.0
        for k in range(u.shape[0]):
            x = lam_bar * x + B_bar @ u[k]
            y[k] = two * (Ct @ x).real
        return y + self.D * u

    def kernel(self, L):
        """Impulse responses K [L, H_out, H_in] of the discretised system without D: K_ℓ = 2·Re(C̃ Λ̄^ℓ B̄)
        (so y = K * u + D u, a causal convolution)."""
        lam_bar, B_bar = self.discretize()
        Ct = self.C[..., 0] + 1j * self.C[..., 1]
        pw = lam_bar[None, :] ** np.arange(L)[:, None]                        # [L, P]
        two = 2.0 if self.conj_sym else 1.0
        return two * np.einsum("hp,lp,pk->lhk", Ct, pw, B_bar).real

    def __repr__(self):
        return (f"<ssmkit.s5.S5SSM P={self.P} H={self.H} {self.discretization}"
                f"{' conj_sym' if self.conj_sym else ''}{' from ' + self.init_method if hasattr(self, 'init_method') else ''}>")
