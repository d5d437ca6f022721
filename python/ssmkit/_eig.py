"""ssmkit._eig — `ssmkit eig` from Python: LAPACK in double, or the multiprecision eigensolver
(ssm_diag_eig_mp: triangular, Newton or Arb's QR route, digits vouched for by two working precisions,
optional Arb certification), with the CLI's spec rules and the numbers of its --json."""
import ctypes
import math
import sys

import numpy as np

from . import _lib, _spec
from ._lib import lib, MPMat, MPCMat, MpeigOpts, MpeigInfo, EigInfo
from ._util import _check, _usage, _zmat, _zptr, _mp_strings

NMAX = 1024          # the largest matrix `ssmkit eig` takes
PREC_MAX = 1 << 20   # --prec range 53 .. 2^20


class EigResult:
    """An eigendecomposition A = V diag(λ) V⁻¹ as `ssmkit eig SPEC [--prec P] --json` reports it.

    eigenvalues        complex128 [n]: λ in double (rounded from the multiprecision values when prec > 53;
                       the order of ssm_diag_eig_mp: decreasing real part, then increasing imaginary part)
    eigenvalues_str    [(re, im)] decimal strings with every digit of prec bits (those of `-o FILE.tsv`);
                       at 53 bits the doubles' round-trip digits
    V                  complex128 [n, n], unit columns (rounded when prec > 53)
    prec_bits, route ("lapack", "triangular", "newton", "qr"), working_prec
    digits             decimal digits on which two working precisions agree (None in double)
    kappa_V            κ₂(V) (inf beyond the double range: see kappa_V_log10), kappa_V_log10
    backward_error     ‖AV − VΛ‖_F / (‖A‖_F ‖V‖_F), backward_error_log10
    kappa_V_double     κ₂(V) of the double-precision baseline (LAPACK), None when it failed
    reconstruction_error   of the double path (None above 53 bits)
    certified          Arb enclosed every eigenpair (certify=True); radius_lambda, radius_V; double_result_correct:
                       the double eigenvalues lie within 100·n·ε·‖A‖₂ of the enclosures (None: not judged)

    r["eigenvalues"] works too (the dict of earlier versions).  as_dict(): the CLI's --json object."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __getitem__(self, key):
        return getattr(self, key)

    def as_dict(self):
        """The keys and values of `ssmkit eig SPEC ... --json` (doc/json.md: every key, null where a value
        is not finite or not asked for; eigenvalues as [[re, im], ...] doubles; no file: output null)."""
        fin = lambda x: x if x is not None and math.isfinite(x) else None
        cert = lambda x: x if self.certify else None
        return {"spec": self.spec, "n": self.n, "prec_bits": self.prec_bits, "route": self.route,
                "working_prec": self.working_prec, "digits": fin(self.digits), "kappa_V": fin(self.kappa_V),
                "kappa_V_log10": fin(self.kappa_V_log10), "backward_error": fin(self.backward_error),
                "backward_error_log10": fin(self.backward_error_log10), "kappa_V_double": fin(self.kappa_V_double),
                "certified": cert(self.certified), "radius_lambda": cert(fin(getattr(self, "radius_lambda", None))),
                "radius_V": cert(fin(getattr(self, "radius_V", None))),
                "double_result_correct": cert(getattr(self, "double_result_correct", None)),
                "output": None,
                "eigenvalues": [[fin(float(z.real)), fin(float(z.imag))] for z in self.eigenvalues]}

    def __repr__(self):
        dg = "" if self.digits is None else f", {self.digits:.1f} digits vouched for"
        return f"<ssmkit.EigResult n={self.n} {self.route} {self.prec_bits} bits{dg}, kappa_V 10^{self.kappa_V_log10:.4f}>"


def _mp_input(sp, ap):
    """The spec's matrix as MPC at precision ap: hippo: exactly (rounded once at ap), a matrix or an
    init file's A_target as exact doubles (cmd_eig.c's load_matrix)."""
    n = sp.N
    A = MPCMat()
    _check(lib.ssm_mpcmat_init(ctypes.byref(A), n, n, ap))
    try:
        if sp.kind == "hippo":
            R = MPMat()
            try:
                _check(lib.ssm_mpmat_init(ctypes.byref(R), n, n, ap))
                _check(lib.ssm_hippo_mp(ctypes.byref(R), None, None, sp.measure, n, None))
                _check(lib.ssm_mpcmat_set_mpmat(ctypes.byref(A), ctypes.byref(R)))
            finally:
                lib.ssm_mpmat_clear(ctypes.byref(R))
        else:
            if sp.kind == "matrix":
                Z = sp.Z
            elif "A_target" in sp.init.tensors:
                Z = np.ascontiguousarray(sp.init.tensors["A_target"], dtype=complex)
            else:
                _usage(f"eig: '{sp.text}' has no target matrix A_target (eig reads hippo:, a matrix file, or an "
                       "init file's A_target)")
            _check(lib.ssm_mpcmat_set_zmat(ctypes.byref(A), ctypes.byref(_zmat(Z))))
    except BaseException:
        lib.ssm_mpcmat_clear(ctypes.byref(A))
        raise
    return A


def _strings(L, prec):
    """(re, im) strings of an n×1 MPC vector at prec bits, as the CLI's TSV prints them."""
    T = MPMat()
    try:
        _check(lib.ssm_mpmat_init(ctypes.byref(T), L.rows, 2, prec))
        _check(lib.ssm_mpcmat_split(ctypes.byref(T), ctypes.byref(L)))
        return [tuple(row) for row in _mp_strings(T)]
    finally:
        lib.ssm_mpmat_clear(ctypes.byref(T))


def _get(M):
    out = np.zeros((M.rows, M.cols), complex)
    _check(lib.ssm_mpcmat_get_zmat(ctypes.byref(_zmat(out)), ctypes.byref(M)))
    return out


def _double(Ad):
    """LAPACK (ssm_diag_eig) on the double matrix: (λ, V, EigInfo, status)."""
    n = Ad.shape[0]
    w, V, Vi = np.zeros(n, complex), np.zeros((n, n), complex), np.zeros((n, n), complex)
    info = EigInfo()
    s = lib.ssm_diag_eig(_zptr(w), ctypes.byref(_zmat(V)), ctypes.byref(_zmat(Vi)), ctypes.byref(info),
                         ctypes.byref(_zmat(Ad)))
    return w, V, info, s


def _options(prec, digits, route, rotate):
    if not (isinstance(prec, (int, np.integer)) and 53 <= prec <= PREC_MAX):
        _usage(f"eig: prec must be an integer in 53 .. {PREC_MAX}, got {prec!r}")
    if digits is not None and not (0 < digits < 1e6):
        _usage(f"eig: digits must be a positive number, got {digits!r}")
    if rotate is not None and not (isinstance(rotate, (int, np.integer)) and 0 <= rotate <= 0x7fffffff):
        _usage(f"eig: rotate must be a seed in 0 .. 2^31-1, got {rotate!r}")
    r = ctypes.c_int()
    _check(lib.ssm_mpeig_route_lookup(ctypes.byref(r), str(route).encode()))
    return r.value


def eig(spec, prec=53, digits=None, route="auto", certify=False, rotate=None):
    """Eigenvalues, κ₂(V) (unit columns) and the backward error, as `ssmkit eig SPEC [--prec P] [--digits D]
    [--route R] [--certify] [--rotate SEED]`.

    spec: "hippo:MEASURE:N" (the exact matrix, rounded once well above prec), a matrix file (.npy,
    .tsv, .safetensors with A), an init file or InitFile (its A_target, as the CLI), or a numpy array
    (entries exact).  init:/target: specs are refused, as by the CLI.  prec = 53: LAPACK in double;
    prec > 53 (or certify): the multiprecision solver, whose digits are vouched for by agreement of two
    working precisions raised until `digits` (default: those of prec, minus 2) agree; where they
    cannot be, ssmkit.Error("ELOSS") (the CLI's exit 1) instead of unverified digits.  certify: Arb
    enclosures; a failed certification is a result (certified False), not an exception.
    Returns an EigResult (its as_dict() equals the CLI's --json)."""
    rt = _options(prec, digits, route, rotate)
    sp = _spec.read(spec, "eig", NMAX, allow=("hippo", "matrix"))
    mp = prec > 53 or certify
    p = prec if prec > 53 else 128
    ap = max(4 * p + 256, 1024)   # the input, well above the output (cmd_eig.c)
    A = _mp_input(sp, ap)
    L, V, W = MPCMat(), MPCMat(), MPCMat()
    try:
        if rotate is not None:
            _check(lib.ssm_diag_rotate_mp(ctypes.byref(A), int(rotate), 2))
        n = sp.N
        Ad = _get(A)
        ld, Vd, di, s = _double(Ad)
        if s != 0 and (not mp or _lib.STATUS_NAMES[s] == "ENOMEM"):
            _check(s, "eig")
        lib.ssm_error_clear()
        double_ok = None
        res = dict(spec=sp.text, n=n, certify=bool(certify), kappa_V_double=di.kappa_V if s == 0 else None)
        if not mp:
            return EigResult(**res, prec_bits=53, route="lapack", working_prec=53, digits=None,
                             kappa_V=di.kappa_V, kappa_V_log10=math.log10(di.kappa_V), backward_error=di.backward_error,
                             backward_error_log10=math.log10(di.backward_error) if di.backward_error > 0 else -math.inf,
                             reconstruction_error=di.reconstruction_error, certified=False, eigenvalues=ld, V=Vd,
                             eigenvalues_str=_double_strings(ld))
        for M, c in ((L, 1), (V, n), (W, n)):
            _check(lib.ssm_mpcmat_init(ctypes.byref(M), n, c, p))
        mi = MpeigInfo()
        o = MpeigOpts(route=rt, digits=float(digits or 0), max_prec=0, certify=1 if certify else 0)
        _check(lib.ssm_diag_eig_mp(ctypes.byref(L), ctypes.byref(V), ctypes.byref(W), ctypes.byref(mi),
                                   ctypes.byref(A), ctypes.byref(o)), "eig")
        if certify and mi.certified and s == 0:
            inside = ctypes.c_size_t()
            nrm = ctypes.c_double()
            _check(lib.ssm_zmat_norm2(ctypes.byref(nrm), ctypes.byref(_zmat(Ad))), "eig")
            tol = 100.0 * n * sys.float_info.epsilon * nrm.value
            if lib.ssm_diag_eig_mp_contains(ctypes.byref(inside), ctypes.byref(A), ctypes.byref(L), ctypes.byref(V),
                                            _zptr(ld), tol) == 0:
                double_ok = inside.value == n
            lib.ssm_error_clear()
        nan = lambda x: None if math.isnan(x) else x
        return EigResult(**res, prec_bits=p, route=lib.ssm_mpeig_route_name(mi.route).decode(),
                         working_prec=mi.working_prec, digits=mi.digits, kappa_V=mi.kappa_V,
                         kappa_V_log10=mi.kappa_V_log10, backward_error=mi.backward_error,
                         backward_error_log10=mi.backward_error_log10, reconstruction_error=None,
                         certified=bool(mi.certified), radius_lambda=nan(mi.radius_lambda), radius_V=nan(mi.radius_V),
                         double_result_correct=double_ok, eigenvalues=_get(L)[:, 0], V=_get(V),
                         eigenvalues_str=_strings(L, p))
    finally:
        for M in (A, L, V, W):
            lib.ssm_mpcmat_clear(ctypes.byref(M))


def _double_strings(ld):
    """The doubles' digits as the CLI's 53-bit TSV prints them."""
    M = MPCMat()
    try:
        _check(lib.ssm_mpcmat_init(ctypes.byref(M), len(ld), 1, 53))
        ldc = np.ascontiguousarray(ld)  # kept alive: the struct holds only its data pointer
        _check(lib.ssm_mpcmat_set_zmat(ctypes.byref(M), ctypes.byref(_zmat(ldc))))
        return _strings(M, 53)
    finally:
        lib.ssm_mpcmat_clear(ctypes.byref(M))
