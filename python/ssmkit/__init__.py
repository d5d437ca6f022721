"""ssmkit — state-space-model initialisations (HiPPO, S4/S4D/S5, PTD) from Python.

Pure Python over libssmkit.so (ctypes); arrays are numpy.  Every failure of the library raises
ssmkit.Error(status, message) with the library's one-line message; nothing prints, nothing exits.

    A, B, P = ssmkit.hippo("legs", 64)
    f = ssmkit.init("ptd", 64, eps=0.05)          # an ssmkit-init/1 file in memory
    f.tensors["Lambda"]                            # complex128 [M]; f.raw["Lambda"] is float64 [M, 2]
    f.metadata["kappa_V"]                          # strings, as stored
    f.save("ptd64.safetensors")                    # byte-identical to `ssmkit init ptd -N 64 -o ...`
    ssmkit.verify(f).ok
    G = ssmkit.transfer(f, omega)                  # G(i omega) of the init's model
    ps = ssmkit.pspec(f, grid=(50, 50))            # sigma_min(zI - A), ps.sigma[iy, ix]
    ssmkit.pspec("hippo:legs:64", abscissa=0.01, radius=True).as_dict()   # = `ssmkit pspec ... --json`
    ssmkit.eig("hippo:legs:32", prec=256)          # the multiprecision eigensolver, digits vouched for
    ssmkit.S5SSM.from_init(f, H=64)                # the S5 repository's parameters
    ssmkit.engine.Engine("adding", init=...)       # a `ssmkit train` run as data (ssmkit.torch.engine_train)
    ssmkit.load_checkpoint("run")                  # `ssmkit train --checkpoint run`: config, weights, AdamW moments

Which libssmkit.so is used and why OPENBLAS_CORETYPE matters: see ssmkit._lib.
"""
import ctypes
import math
import os

import numpy as np

from . import _lib
from ._lib import lib, MPMat, VerifyReport, VerifyMPItem
from ._util import Error, _check, _usage, _dmat, _zmat, _zptr, _mp_strings

__version__ = "0.1.0"
__all__ = ["Error", "hippo", "init", "load", "InitFile", "verify", "VerifyResult", "transfer", "omega_grid",
           "pspec", "PspecResult", "eig", "EigResult", "state_matrix", "S5SSM", "blas_info",
           "load_checkpoint", "Checkpoint", "MEASURES", "METHODS"]

MEASURES = ["legs", "legt", "lagt", "glagt", "lmu", "fout", "fourier2", "foud", "fourier-decay", "legsd"]
METHODS = ["s4-dplr", "s4d-legs", "s4d-lin", "s4d-inv", "s4d-real", "s5-legs", "ptd"]
_COMPLEX_TENSORS = {"Lambda", "B", "P", "V", "Vinv"}   # [.., 2] = (re, im) in ssmkit-init/1


# ---- HiPPO --------------------------------------------------------------------------------------

def _measure(name):
    m = ctypes.c_int()
    _check(lib.ssm_hippo_lookup(ctypes.byref(m), name.encode()))
    return m.value


def hippo(measure, N, prec=53):
    """(A, B, P) of a HiPPO measure in double, every entry correctly rounded: A [N, N], B [N], P [r, N]
    (None when the measure has no rank correction: legsd, glagt, lmu, foud).  With prec > 53 the
    exact values correctly rounded to prec bits are returned too, as decimal strings:
    (A, B, P, {"A": [[str]], "B": [str], "P": [[str]] or None})."""
    m = _measure(measure)
    N = int(N)
    _check(lib.ssm_hippo_check_size(m, N))
    r = lib.ssm_hippo_rank(m)
    A = np.zeros((N, N))
    B = np.zeros((N, 1))
    P = np.zeros((r, N)) if r else None
    dA, dB = _dmat(A), _dmat(B)
    dP = _dmat(P) if r else None
    _check(lib.ssm_hippo(ctypes.byref(dA), ctypes.byref(dB), ctypes.byref(dP) if r else None, m, N))
    if prec <= 53:
        return A, B[:, 0], P
    return A, B[:, 0], P, _hippo_mp(m, N, r, int(prec))


def _hippo_mp(m, N, r, prec):
    mats = {"A": MPMat(), "B": MPMat(), "P": MPMat()}
    shapes = {"A": (N, N), "B": (N, 1), "P": (r, N)}
    try:
        for k in ("A", "B") + (("P",) if r else ()):
            _check(lib.ssm_mpmat_init(ctypes.byref(mats[k]), shapes[k][0], shapes[k][1], prec))
        _check(lib.ssm_hippo_mp(ctypes.byref(mats["A"]), ctypes.byref(mats["B"]),
                                ctypes.byref(mats["P"]) if r else None, m, N, None))
        out = {"P": None}
        for k in ("A", "B") + (("P",) if r else ()):
            rows = _mp_strings(mats[k])   # the digits `ssmkit hippo --prec` prints
            out[k] = [row[0] for row in rows] if k == "B" else rows
        return out
    finally:
        for k in mats:
            lib.ssm_mpmat_clear(ctypes.byref(mats[k]))


# ---- init files ---------------------------------------------------------------------------------

class InitFile:
    """A validated ssmkit-init/1 file (ssm_init_file): built by ssmkit.init or read by ssmkit.load.

    .tensors   dict name -> numpy array; complex tensors (Lambda, B, P, V, Vinv) as complex128 with
               the trailing (re, im) axis folded; real ones (A_target, B_target, C_target, E) float64
    .raw       dict name -> float64 array exactly as stored (complex ones with the trailing axis 2)
    .metadata  dict of strings, as stored (the safetensors __metadata__)
    .N, .M, .r, .conj_sym, .method
    .lambda_, .B_tilde, .C_tilde   complex128 [M]: Λ, B̃ (no S4D ½), C̃ = C_target·V (ones without V)
    .save(path)  write the file (atomically), byte-identical to `ssmkit init` for the same options
    """

    def __init__(self, ptr, source=None):
        self._ptr = ptr
        self.source = source
        f = ptr.contents
        self.N, self.M, self.r, self.conj_sym = int(f.N), int(f.M), int(f.r), bool(f.conj_sym)
        st = f.st
        self.raw, self.tensors = {}, {}
        for i in range(lib.ssm_st_count(st)):
            t = lib.ssm_st_at(st, i).contents
            shape = tuple(t.shape[k] for k in range(t.ndim))
            name = t.name.decode()
            a = np.ctypeslib.as_array(t.data, shape=(t.count,)).copy().reshape(shape) if t.count else \
                np.zeros(shape)
            self.raw[name] = a
            if name in _COMPLEX_TENSORS and a.ndim >= 1 and a.shape[-1] == 2:
                self.tensors[name] = np.ascontiguousarray(a).view(np.complex128)[..., 0]
            else:
                self.tensors[name] = a
        self.metadata = {}
        k, v = ctypes.c_char_p(), ctypes.c_char_p()
        for i in range(lib.ssm_st_meta_count(st)):
            lib.ssm_st_meta_at(st, i, ctypes.byref(k), ctypes.byref(v))
            self.metadata[k.value.decode()] = v.value.decode()
        M = self.M
        vec = lambda p: np.ctypeslib.as_array(p, shape=(2 * M,)).copy().view(np.complex128)
        self.lambda_, self.B_tilde, self.C_tilde = vec(f.lam), vec(f.B), vec(f.C)
        self.method = self.metadata.get("method")

    def _handle(self):
        if self._ptr is None:
            raise ValueError("ssmkit.InitFile: used after close()")
        return self._ptr

    def save(self, path):
        """Write the file to path (temporary file + rename, as the CLI does)."""
        _check(lib.ssm_st_write(self._handle().contents.st, os.fsencode(path)))

    def close(self):
        if self._ptr is not None:
            lib.ssm_init_file_free(self._ptr)
            self._ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"<ssmkit.InitFile {self.method} N={self.N} M={self.M} r={self.r}"
                f"{' from ' + str(self.source) if self.source else ''}>")


_C_KINDS = {"ones": 0, "random": 1, "legendre": 2}


def _init_opts(N, eps=None, tf_weight=None, seed=0, conj_sym=True, blocks=1, C="ones", clip_im_B=None,
               omega=None, prec=53):
    o = lib.ssm_init_opts_default()
    o.N = int(N)
    if eps is not None:
        if not (0 < eps < 10):
            _usage(f"init: eps must be in (0, 10), got {eps}")
        o.eps = float(eps)
    if tf_weight is not None:
        if not tf_weight >= 0:
            _usage(f"init: tf_weight must be >= 0, got {tf_weight}")
        o.tf_weight = float(tf_weight) if tf_weight > 0 else -1.0   # 0: conditioning only, as --tf-weight 0
    o.seed = int(seed)
    o.conj_sym = 1 if conj_sym else 0
    o.blocks = int(blocks)
    if C not in _C_KINDS:
        _usage(f"init: C must be ones, random or legendre, got {C!r}")
    o.C = _C_KINDS[C]
    if clip_im_B is not None:
        if not clip_im_B > 0:
            _usage(f"init: clip_im_B must be > 0, got {clip_im_B}")
        o.clip_im_B = float(clip_im_B)
    if omega is not None:
        lo, hi, count = omega
        if not lo > 0:
            _usage("init: omega LO must be > 0 (log grid)")
        o.omega_lo, o.omega_hi, o.omega_count = float(lo), float(hi), int(count)
    if not 53 <= int(prec) <= 65536:
        _usage(f"init: prec must be in 53 .. 65536, got {prec}")
    o.prec = int(prec)
    return o


def _method(name):
    m = ctypes.c_int()
    _check(lib.ssm_init_method_lookup(ctypes.byref(m), name.encode()))
    return m.value


def init(method, N, eps=None, tf_weight=None, seed=0, conj_sym=True, blocks=1, C="ones", clip_im_B=None,
         omega=None, prec=53):
    """Build an init file in memory: the options of `ssmkit init METHOD -N N` (eps and tf_weight for
    ptd only; omega = (LO, HI, COUNT) the log grid of the tf_sup_error check; prec > 53: the
    multiprecision build).  Returns an InitFile."""
    m = _method(method)
    if method != "ptd" and eps is not None:
        _usage("init: eps applies to ptd only")
    if method != "ptd" and tf_weight is not None:
        _usage("init: tf_weight applies to ptd only")
    o = _init_opts(N, eps, tf_weight, seed, conj_sym, blocks, C, clip_im_B, omega, prec)
    st = ctypes.c_void_p()
    _check(lib.ssm_init_build(ctypes.byref(st), m, ctypes.byref(o)))
    f = ctypes.POINTER(_lib.InitFileStruct)()
    _check(lib.ssm_init_file_take(ctypes.byref(f), st))   # takes st, also on failure
    return InitFile(f, source=f"init:{method}:{N}")


def load(path):
    """Read and validate an ssmkit-init/1 file (ssm_init_file_read)."""
    f = ctypes.POINTER(_lib.InitFileStruct)()
    _check(lib.ssm_init_file_read(ctypes.byref(f), os.fsencode(path)))
    return InitFile(f, source=os.fspath(path))


def _as_file(spec, **opts):
    """An InitFile from an InitFile, a path, or "init:METHOD:N"."""
    if isinstance(spec, InitFile):
        spec._handle()
        return spec
    spec = os.fspath(spec)
    if spec.startswith("init:"):
        parts = spec.rsplit(":", 2)
        if len(parts) != 3 or not parts[1]:
            _usage(f"bad system spec '{spec}' (init:METHOD:N)")
        try:
            name, n = parts[1], int(parts[2])
        except ValueError:
            _usage(f"N in the spec must be a number, got '{parts[2]}'")
        return init(name, n, **opts)
    return load(spec)


# ---- verify -------------------------------------------------------------------------------------

class VerifyResult:
    """The checks of ssm_init_verify: .items (dicts key, stored, recomputed, tolerance, ok), .ok,
    .failed; with prec > 53 also .mp (dicts key, double, mpfr, digits).  A violated tolerance is a
    result (ok False), not an exception.  Quality, apart from integrity: .tf_error (sup |G_init −
    G_target| on the file's grid), .tf_signal (sup |G_target| there), .tf_relative (their ratio; None
    without a target) and .quality ("good" when tf_relative <= 0.1, "poor" above, None without a target)."""

    GOOD = 0.1  # SSM_VERIFY_TF_GOOD

    def __init__(self, items, failed, mp=None, tf=(None, None, None)):
        self.items, self.failed, self.mp = items, failed, mp or []
        self.ok = failed == 0
        self.tf_error, self.tf_signal, self.tf_relative = tf
        self.quality = None if self.tf_relative is None else ("good" if self.tf_relative <= self.GOOD else "poor")

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, key):
        if isinstance(key, str):
            for it in self.items:
                if it["key"] == key:
                    return it
            raise KeyError(key)
        return self.items[key]

    def __repr__(self):
        return f"<ssmkit.VerifyResult {len(self.items) - self.failed} of {len(self.items)} checks hold>"


def verify(spec, prec=53):
    """Recompute every stored check of an init file (path or InitFile) from its tensors."""
    f = _as_file(spec)
    rep = VerifyReport()
    s = lib.ssm_init_verify(ctypes.byref(rep), f._handle())
    if s not in (0, 7):   # OK, ECHECK
        _check(s)
    lib.ssm_error_clear()
    items = [{"key": it.key.decode(), "stored": it.stored.decode(), "recomputed": it.recomputed.decode(),
              "tolerance": it.tolerance, "ok": bool(it.ok)} for it in rep.item[:rep.count]]
    mp = []
    if prec > 53:
        buf = (VerifyMPItem * 8)()
        n = ctypes.c_int()
        _check(lib.ssm_init_verify_mp(buf, 8, ctypes.byref(n), f._handle(), int(prec)))
        mp = [{"key": x.key.decode(), "double": x.stored, "mpfr": x.mp, "digits": x.digits} for x in buf[:n.value]]
    tf = tuple(None if math.isnan(x) else x for x in (rep.tf_error, rep.tf_signal, rep.tf_relative))
    return VerifyResult(items, rep.failed, mp, tf)


# ---- transfer functions -------------------------------------------------------------------------

def omega_grid(lo, hi, count, log=False):
    """The frequencies of `--omega LO:HI:COUNT[:log]` (ssm_tf_omega_grid), bit for bit."""
    count = int(count)
    s = np.zeros(count, complex)
    w = np.zeros(count)
    _check(lib.ssm_tf_omega_grid(_zptr(s), w.ctypes.data_as(_lib.c_double_p), float(lo), float(hi), count,
                                 1 if log else 0))
    return w


def _parse_omega(text):
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
        _usage(f"omega must be LO:HI:COUNT[:log], got '{text}'")
    return omega_grid(float(parts[0]), float(parts[1]), int(parts[2]), len(parts) == 4)


def _eval_tf(spec, s, C="ones", seed=0, **opts):
    if isinstance(spec, (str, os.PathLike)) and os.fspath(spec).startswith("hippo:"):
        spec = os.fspath(spec)
        try:
            _, name, n = spec.rsplit(":", 2)
            n = int(n)
        except ValueError:
            _usage(f"bad system spec '{spec}' (hippo:MEASURE:N)")
        A, B, _ = hippo(name, n)
        Cv = np.zeros((n, 1))
        _check(lib.ssm_init_C(ctypes.byref(_dmat(Cv)), _C_KINDS[C], int(seed)))
        Az, bz, cz = A.astype(complex), B.astype(complex)[:, None].copy(), Cv[:, 0].astype(complex)[None, :].copy()
        mA, mb, mc = _zmat(Az), _zmat(bz), _zmat(cz)
        plan = ctypes.c_void_p()
        _check(lib.ssm_tf_plan_create(ctypes.byref(plan), ctypes.byref(mA), ctypes.byref(mb), ctypes.byref(mc), 0.0,
                                      0.0))
        try:
            G = np.zeros(len(s), complex)
            _check(lib.ssm_tf_eval(_zptr(G), plan, _zptr(s), len(s)))
        finally:
            lib.ssm_tf_plan_free(plan)
        return G
    which = 0
    if isinstance(spec, (str, os.PathLike)) and os.fspath(spec).startswith("target:"):
        spec, which = os.fspath(spec)[7:], 1
    f = _as_file(spec, C=C, seed=seed, **opts)
    G = np.zeros(len(s), complex)
    _check(lib.ssm_init_transfer(_zptr(G), f._handle(), which, _zptr(s), len(s)))
    return G


def transfer(spec, omega, vs=None, C="ones", seed=0, **init_opts):
    """G(iω) = C(iωI − A)⁻¹B at the given frequencies (array, or "LO:HI:COUNT[:log]" as the CLI's
    --omega).  spec (and vs): an InitFile or init-file path (its diagonal/DPLR model, ssm_init_transfer
    with SSM_INIT_MODEL), "target:PATH" (the file's A_target, B_target, C_target), "init:METHOD:N"
    (built with C, seed and init_opts), "hippo:MEASURE:N" (dense, Hessenberg method, C from C/seed).
    Returns complex128 [K], or (G1, G2) with vs; |G1 − G2| is the CLI's absdiff column."""
    w = _parse_omega(omega) if isinstance(omega, str) else np.ascontiguousarray(omega, dtype=np.float64)
    s = np.ascontiguousarray(1j * w)
    G1 = _eval_tf(spec, s, C=C, seed=seed, **init_opts)
    if vs is None:
        return G1
    return G1, _eval_tf(vs, s, C=C, seed=seed, **init_opts)


def blas_info():
    """Which OpenBLAS core runs in this process, the fastest one this CPU allows, and
    OPENBLAS_CORETYPE (see ssmkit._lib for why it matters)."""
    core, best = lib.ssm_blas_core(), lib.ssm_blas_best_core()
    return {"core": core.decode() if core else None, "best": best.decode() if best else None,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "library": _lib.path}


# ---- eigenvalues and pseudospectra (modules of their own; imported last: they use the above) ----------

from ._eig import eig, EigResult                      # noqa: E402
from ._pspec import pspec, PspecResult, _System       # noqa: E402
from .s5 import S5SSM                                 # noqa: E402
from . import _pspec as _pspec_mod                    # noqa: E402
from .engine import load_checkpoint, Checkpoint       # noqa: E402


def state_matrix(spec):
    """The dense state matrix (complex128 [N, N]) of an init file's model, the matrix `ssmkit pspec`
    works on: DPLR files diag(Λ) − P P* over the conjugate-closed set, PTD A_target + E, S5 V Λ V⁻¹,
    diagonal inits diag(Λ ∪ conj Λ).  spec: an InitFile, a path or "init:METHOD:N"."""
    A, lam, P = _pspec_mod._state_matrix(_as_file(spec))
    return _System(A, lam, P).dense()
