#!/usr/bin/python3
"""bench/torch_model.py — the ssmkit training model written independently in PyTorch.

  torch_model.py check FILE.safetensors   load the weights, batch, loss and gradients that
                                          bench/train-export wrote; recompute loss and every gradient
                                          with autograd in float64; exit 1 unless all agree to 1e-4
                                          relative (max |diff| / max |torch grad| per tensor)
  torch_model.py bench H K N L STEPS      training throughput (float32 throughout, the kernel too as in
                                          the official S4D code; 2 threads, batch 64, AdamW): prints
                                          samples/s

Model (same as train/): input projection -> K x [ (pre-LN) -> diagonal SSM long convolution
(ZOH Vandermonde kernel, FFT of length 2L) + D skip -> GELU -> linear (GLU optional) -> residual ->
(post-LN) ] -> mean pool -> linear decoder; cross-entropy or MSE.

The S5 layer (an S5 init: meta "s5"), computed here differently from the engine's recurrence: the MIMO
impulse response K[l, h, k] = 2 Re sum_n C[h,n] Lambda_bar_n^l B_bar[n,k] (Lambda_bar = exp(Delta Lambda),
B_bar = (Lambda_bar - 1)/Lambda B, one Delta per mode) and the causal convolution y = K * u + D u by FFT
of length 2L, summed over the input channels.

s4-dplr inits: the DPLR kernel here
is the dense bilinear recurrence K_l = Re(C Abar^l Bbar) over the conjugate-closed set (A = Lambda - p p*,
C = C~ (I - Abar^L)^-1), not the engine's Cauchy/Woodbury evaluation; or the dense frozen ZOH basis.
"""
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + a:base + b]), dtype=torch.float64).clone()
        out[name] = t.reshape(info["shape"])
    return out, meta


class Model(torch.nn.Module):
    def __init__(self, H, N, K, L, din, nout, glu=False, prenorm=False, dense=False, dtype=torch.float64,
                 dense_A=None, dense_B=None, kernel_dtype=torch.float64, s5=False, dplr=False):
        super().__init__()
        self.kdt = kernel_dtype  # float64 for the comparison; the benchmark uses float32 like the S4D code
        M = N // 2
        self.H, self.N, self.M, self.K, self.L, self.glu, self.prenorm, self.dense = H, N, M, K, L, glu, prenorm, dense
        self.s5 = s5
        self.dplr = dplr
        P = torch.nn.Parameter
        z = lambda *s: torch.zeros(*s, dtype=dtype)
        self.p = {}  # arena names (with dots) -> Parameter; the optimiser gets list(self.p.values())
        self.p["encoder.weight"] = P(torch.randn(din, H, dtype=dtype) / din ** 0.5)
        self.p["encoder.bias"] = P(z(H))
        Hout = 2 * H if glu else H
        for l in range(K):
            if s5:  # S5's shapes: Lambda [M,2], B [M,H,2], C [H,M,2], log_step [M] (values from the file)
                self.p[f"layers.{l}.ssm.Lambda"] = P(z(M, 2))
                self.p[f"layers.{l}.ssm.B"] = P(z(M, H, 2))
                self.p[f"layers.{l}.ssm.C"] = P(z(H, M, 2))
                self.p[f"layers.{l}.ssm.log_step"] = P(z(M))
            elif not dense:
                lam = torch.complex(-0.5 * torch.ones(H, M, dtype=dtype),
                                    torch.pi * torch.arange(M, dtype=dtype).repeat(H, 1))
                self.p[f"layers.{l}.ssm.Lambda"] = P(torch.view_as_real(lam).clone())
                if dplr:  # values come from the export; shapes only
                    self.p[f"layers.{l}.ssm.P"] = P(torch.zeros(H, M, 2, dtype=dtype))
                self.p[f"layers.{l}.ssm.B"] = P(torch.view_as_real(torch.ones(H, M, dtype=lam.dtype)).clone())
                self.p[f"layers.{l}.ssm.C"] = P(torch.randn(H, M, 2, dtype=dtype) * 0.5 ** 0.5)
            else:
                self.p[f"layers.{l}.ssm.C"] = P(torch.randn(H, N, dtype=dtype))
            if not s5:
                self.p[f"layers.{l}.ssm.log_dt"] = P(torch.log(torch.full((H,), 0.01, dtype=dtype)))
            self.p[f"layers.{l}.ssm.D"] = P(torch.randn(H, dtype=dtype))
            self.p[f"layers.{l}.out.weight"] = P(torch.randn(H, Hout, dtype=dtype) / H ** 0.5)
            self.p[f"layers.{l}.out.bias"] = P(z(Hout))
            self.p[f"layers.{l}.norm.weight"] = P(torch.ones(H, dtype=dtype))
            self.p[f"layers.{l}.norm.bias"] = P(z(H))
        self.p["decoder.weight"] = P(torch.randn(H, nout, dtype=dtype) / H ** 0.5)
        self.p["decoder.bias"] = P(z(nout))
        self.dense_A, self.dense_B = dense_A, dense_B

    def kernel(self, l):
        L = self.L
        logdt = self.p[f"layers.{l}.ssm.log_dt"]
        dt = torch.exp(logdt.to(self.kdt))
        if self.dense:  # basis X[h, ℓ] = Ā_h^ℓ B̄_h, Ā = expm(ΔA), B̄ = A⁻¹(Ā − I)B; K = X C (frozen A, B, Δ)
            A, Bv = self.dense_A, self.dense_B
            N = A.shape[0]
            Ab = torch.matrix_exp(dt[:, None, None] * A)                             # [H,N,N]
            Bb = torch.linalg.solve(A, ((Ab - torch.eye(N, dtype=A.dtype)) @ Bv).T).T  # [H,N]
            xs, x = [], Bb
            for _ in range(L):
                xs.append(x)
                x = torch.einsum("hij,hj->hi", Ab, x)
            X = torch.stack(xs, 1)                                                   # [H,L,N]
            C = self.p[f"layers.{l}.ssm.C"].to(torch.float64)
            return torch.einsum("hln,hn->hl", X, C)
        lam = torch.view_as_complex(self.p[f"layers.{l}.ssm.Lambda"].to(self.kdt).contiguous())
        B = torch.view_as_complex(self.p[f"layers.{l}.ssm.B"].to(self.kdt).contiguous())
        C = torch.view_as_complex(self.p[f"layers.{l}.ssm.C"].to(self.kdt).contiguous())
        if self.dplr:
            Pl = torch.view_as_complex(self.p[f"layers.{l}.ssm.P"].to(self.kdt).contiguous())
            return self.dplr_kernel(lam, Pl, B, C, dt)
        dtl = dt[:, None] * lam                                                      # [H,M]
        coef = C * B * (torch.exp(dtl) - 1.0) / lam
        ell = torch.arange(L, dtype=self.kdt)
        V = torch.exp(dtl[:, :, None] * ell)                                         # [H,M,L]
        return 2.0 * torch.einsum("hm,hml->hl", coef, V).real

    def s5_conv(self, l, ut):
        """S5 layer l on ut [B, H, L]: the MIMO kernel K [H_out, H_in, L] and an FFT convolution."""
        pre = f"layers.{l}.ssm."
        lam = torch.view_as_complex(self.p[pre + "Lambda"].to(self.kdt).contiguous())            # [M]
        B = torch.view_as_complex(self.p[pre + "B"].to(self.kdt).contiguous())                   # [M,H]
        C = torch.view_as_complex(self.p[pre + "C"].to(self.kdt).contiguous())                   # [H,M]
        dtl = torch.exp(self.p[pre + "log_step"].to(self.kdt)) * lam                             # [M]
        Bbar = ((torch.exp(dtl) - 1.0) / lam)[:, None] * B                                      # [M,H]
        pw = torch.exp(dtl[:, None] * torch.arange(self.L, dtype=self.kdt))                     # [M,L]
        K = 2.0 * torch.einsum("hm,ml,mk->hkl", C, pw, Bbar).real.to(ut.dtype)                  # [H,H,L]
        n = 2 * self.L
        Y = torch.einsum("hkf,bkf->bhf", torch.fft.rfft(K, n=n), torch.fft.rfft(ut, n=n))
        return torch.fft.irfft(Y, n=n)[..., :self.L]
    def dplr_kernel(self, lam, Pl, B, Ct, dt):
        """K [H, L] = Re(C Abar^l Bbar), bilinear, over the conjugate-closed set of N = 2M modes:
        A = diag(lam) - p p*, Abar = (I - dt/2 A)^-1 (I + dt/2 A), Bbar = dt (I - dt/2 A)^-1 B, and the
        trained C~ = C (I - Abar^L), so C = C~ (I - Abar^L)^-1 (dense solves, matrix powers)."""
        full = lambda z: torch.cat([z, z.conj()], -1)                             # [H, N]
        lf, pf, bf, cf = full(lam), full(Pl), full(B), full(Ct)
        N, L = lf.shape[-1], self.L
        eye = torch.eye(N, dtype=lf.dtype)
        A = torch.diag_embed(lf) - pf[:, :, None] * pf.conj()[:, None, :]
        h = (dt / 2)[:, None, None].to(lf.dtype)
        M1, M2 = eye - h * A, eye + h * A
        Ab = torch.linalg.solve(M1, M2)
        Bb = torch.linalg.solve(M1, (dt[:, None].to(lf.dtype) * bf)[..., None])[..., 0]
        AL = torch.linalg.matrix_power(Ab, L)
        C = torch.linalg.solve((eye - AL).transpose(-1, -2), cf[..., None])[..., 0]
        ks, x = [], Bb
        for _ in range(L):
            ks.append((C * x).sum(-1).real)
            x = torch.einsum("hij,hj->hi", Ab, x)
        return torch.stack(ks, 1)

    def forward(self, x):                       # x [B, L, din]
        p = self.p
        h = x @ p["encoder.weight"] + p["encoder.bias"]                             # [B,L,H]
        L, n = self.L, 2 * self.L
        for l in range(self.K):
            w, b = p[f"layers.{l}.norm.weight"], p[f"layers.{l}.norm.bias"]
            u = F.layer_norm(h, (self.H,), w, b, 1e-5) if self.prenorm else h
            ut = u.transpose(1, 2)                                                   # [B,H,L]
            if self.s5:
                y = self.s5_conv(l, ut)
            else:
                K = self.kernel(l).to(h.dtype)                                       # [H,L]
                y = torch.fft.irfft(torch.fft.rfft(ut, n=n) * torch.fft.rfft(K, n=n), n=n)[..., :L]
            y = y + p[f"layers.{l}.ssm.D"][:, None] * ut
            g = F.gelu(y.transpose(1, 2))
            o = g @ p[f"layers.{l}.out.weight"] + p[f"layers.{l}.out.bias"]
            if self.glu:
                o = F.glu(o, dim=-1)
            r = h + o
            h = r if self.prenorm else F.layer_norm(r, (self.H,), w, b, 1e-5)
        pooled = h.mean(1)
        return pooled @ p["decoder.weight"] + p["decoder.bias"]


def check(path):
    t, meta = read_safetensors(path)
    mi = lambda k: int(meta[k])
    model = Model(mi("H"), mi("N"), mi("K"), mi("L"), mi("din"), mi("nout"), bool(mi("glu")), bool(mi("prenorm")),
                  bool(mi("dense")), torch.float64, t.get("dense_A"), t.get("dense_B"), s5=bool(int(meta.get("s5", 0))),
                  dplr=bool(int(meta.get("dplr", "0"))))
    with torch.no_grad():
        for name, prm in model.p.items():
            prm.copy_(t[name].reshape(prm.shape))
    out = model(t["x"])
    y = t["y"]
    loss = F.mse_loss(out[:, 0], y) if mi("regression") else F.cross_entropy(out, y.long())
    loss.backward()
    worst = abs(loss.item() - t["loss"].item()) / abs(loss.item())
    ok = worst <= 1e-4
    print(f"{path}: loss ssmkit {t['loss'].item():.10g} torch {loss.item():.10g} (rel {worst:.2e})")
    for name, prm in model.p.items():
        key = "grad." + name
        if key not in t:
            continue
        g_ref = prm.grad.reshape(-1)
        g = t[key].reshape(-1)
        scale = g_ref.abs().max().item()
        rel = (g - g_ref).abs().max().item() / scale if scale > 0 else (g - g_ref).abs().max().item()
        good = rel <= 1e-4
        ok &= good
        print(f"  {'ok  ' if good else 'FAIL'} d/d{name:28s} max|diff|/max|grad| = {rel:.2e}")
    return ok


def bench(H, K, N, L, steps):
    torch.set_num_threads(2)
    torch.manual_seed(0)
    B = 64
    model = Model(H, N, K, L, 1, 10, dtype=torch.float32, kernel_dtype=torch.float32)
    params = list(model.p.values())
    opt = torch.optim.AdamW(params, lr=0.01, weight_decay=0.05)
    x = torch.randn(B, L, 1)
    y = torch.randint(0, 10, (B,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    print(f"{B * steps / dt:.3f}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        ok = all([check(p) for p in sys.argv[2:]])
        print("torch comparison:", "all agree to 1e-4" if ok else "MISMATCH")
        sys.exit(0 if ok else 1)
    if len(sys.argv) == 7 and sys.argv[1] == "bench":
        bench(*[int(a) for a in sys.argv[2:]])
        sys.exit(0)
    print(__doc__)
    sys.exit(2)
