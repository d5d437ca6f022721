"""ssmkit._pspec — `ssmkit pspec` from Python: σ_min(zI − A) on a grid, the pseudospectral abscissa
α_ε(A) and the complex stability radius β(A), for every spec the CLI takes (cmd_pspec.c's rules:
the same system matrix, route, default box and refusals)."""
import ctypes

import numpy as np

from . import _lib, _spec
from ._lib import lib, ZMat, PspecOpts, PspecInfo
from ._util import _check, _usage, _dmat, _zmat, _zptr, _take_zmat

NMAX = 8192          # the largest state size pspec takes
INIT_NMAX = 1024     # init:METHOD:N specs above this are refused before they are built
SCALARS_NMAX = 2048  # abscissa and radius: an eigenproblem of order 2n per step
_METHODS = {"fast": 0, "record": 1}


class PspecResult:
    """sigma[iy, ix] = σ_min(z I − A) at z = x[ix] + i y[iy] over box (x0, x1, y0, y1) (None when no grid
    was asked); info: the library's counters (route, points, mirrored, iterations, unconverged,
    guard_failed, refined).  abscissa (α_ε, with eps, abscissa_at: the complex point where it is
    attained, abscissa_sweeps) and stability_radius (β, stability_radius_omega, where it is attained)
    when asked, else None.  as_dict(): the CLI's --json object."""

    def __init__(self, n, sigma=None, box=None, info=None, scalars=None, spec=None):
        self.n, self.sigma, self.info, self.spec = n, sigma, info, spec
        self.box = tuple(box) if box is not None else None
        self.eps = self.abscissa = self.abscissa_at = self.abscissa_sweeps = None
        self.stability_radius = self.stability_radius_omega = None
        self.__dict__.update(scalars or {})
        self.x = self.y = None
        if sigma is not None:
            ny, nx = sigma.shape
            x0, x1, y0, y1 = self.box
            self.x = np.array([x0 + ix * (x1 - x0) / (nx - 1) for ix in range(nx)])
            self.y = np.array([y0 + iy * (y1 - y0) / (ny - 1) for iy in range(ny)])

    def table(self):
        """Rows (re, im, sigma_min) in the CLI's order (grid rows one after another)."""
        X, Y = np.meshgrid(self.x, self.y)
        return np.column_stack([X.ravel(), Y.ravel(), self.sigma.ravel()])

    def as_dict(self):
        """The keys and values of `ssmkit pspec SPEC ... --json` for the same request (doc/json.md: every key,
        null where the request did not compute it; no file: output null)."""
        d = {"spec": self.spec, "n": self.n, "output": None}
        d.update({k: None for k in ("eps", "abscissa", "abscissa_at", "abscissa_sweeps", "stability_radius",
                                    "stability_radius_omega", "route", "grid", "box", "points_computed",
                                    "points_mirrored", "lanczos_steps", "unconverged", "guard_failed",
                                    "block_refined", "sigma_min_min")})
        if self.abscissa is not None:
            d.update(eps=self.eps, abscissa=self.abscissa, abscissa_at=[self.abscissa_at.real, self.abscissa_at.imag],
                     abscissa_sweeps=self.abscissa_sweeps)
        if self.stability_radius is not None:
            d.update(stability_radius=self.stability_radius, stability_radius_omega=self.stability_radius_omega)
        if self.sigma is not None:
            i = self.info
            d.update(route=i["route"], grid=[self.sigma.shape[1], self.sigma.shape[0]], box=list(self.box),
                     points_computed=i["points"], points_mirrored=i["mirrored"], lanczos_steps=i["iterations"],
                     unconverged=i["unconverged"], guard_failed=i["guard_failed"], block_refined=i["refined"],
                     sigma_min_min=float(self.sigma.min()))
        return d

    def __repr__(self):
        parts = [f"n={self.n}"]
        if self.sigma is not None:
            parts.append(f"grid {self.sigma.shape[1]}x{self.sigma.shape[0]} ({self.info['route']})")
        if self.abscissa is not None:
            parts.append(f"alpha_{self.eps:g} = {self.abscissa:.6g}")
        if self.stability_radius is not None:
            parts.append(f"beta = {self.stability_radius:.6g}")
        return f"<ssmkit.PspecResult {', '.join(parts)}>"


class _System:
    """The matrix pspec works on: dense A (complex128, may be None for a DPLR-only system) and/or the
    DPLR form A = diag(lam) − P P* (lam [n], P [n, r]); real: A is real (σ symmetric in Im z)."""

    def __init__(self, A=None, lam=None, P=None, real=True):
        self.A, self.lam, self.P, self.real = A, lam, P, real

    @property
    def n(self):
        return len(self.lam) if self.lam is not None else self.A.shape[0]

    def dense(self):
        """A itself, or diag(λ) − P P* formed entry by entry in the CLI's order (dense_of)."""
        if self.A is not None:
            return self.A
        n, r = self.P.shape
        A = np.zeros((n, n), complex)
        A[np.arange(n), np.arange(n)] = self.lam
        for k in range(r):
            A -= np.outer(self.P[:, k], np.conj(self.P[:, k]))
        return A


def _hippo_dplr(A, B, P):
    """The NPLR form of a HiPPO pair (ssm_diag_nplr): λ over the conjugate-closed set and P [N, r]
    (cmd_pspec.c's hippo_dplr).  Raises on a numerical failure."""
    N, r = A.shape[0], P.shape[0]
    M = N // 2
    W = np.zeros(M, complex)
    V, Bt, Pt = np.zeros((N, M), complex), np.zeros((M, 1), complex), np.zeros((r, M), complex)
    B = np.ascontiguousarray(B.reshape(N, 1))
    _check(lib.ssm_diag_nplr(_zptr(W), ctypes.byref(_zmat(V)), ctypes.byref(_zmat(Bt)), ctypes.byref(_zmat(Pt)), None,
                             ctypes.byref(_dmat(A)), ctypes.byref(_dmat(B)), ctypes.byref(_dmat(P)), None))
    return np.concatenate([W, W.conj()]), np.ascontiguousarray(np.concatenate([Pt.T, Pt.T.conj()]))


def _state_matrix(f):
    """ssm_init_state_matrix of a loaded file: (A, lam, P) -- a DPLR model gives lam (the full
    conjugate-closed set) and P with A None; any other model gives A and lam None."""
    Am, Pm, lp = ZMat(), ZMat(), _lib.c_double_p()
    _check(lib.ssm_init_state_matrix(ctypes.byref(Am), ctypes.byref(lp), ctypes.byref(Pm), f._handle()))
    A, P = _take_zmat(Am), _take_zmat(Pm)
    if not lp:
        return A, None, None
    lam = np.ctypeslib.as_array(lp, shape=(2 * P.shape[0],)).copy().view(complex)
    _lib.libc.free(ctypes.cast(lp, ctypes.c_void_p))
    return None, lam, P


def _system(spec, route, init_opts, scalars):
    """cmd_pspec.c's load_system: route "auto", "dense" or "dplr"; scalars: the abscissa or the radius
    is asked (their size limit is checked before any matrix is built)."""
    from . import hippo
    sp = _spec.read(spec, "pspec", NMAX, init_nmax=INIT_NMAX, init_opts=init_opts)
    if scalars and sp.N > SCALARS_NMAX:
        _usage(f"pspec: abscissa/radius take O(n^3) per step; n = {sp.N} is above the {SCALARS_NMAX} supported")
    if sp.kind == "hippo":
        A, B, P = hippo(_lib.lib.ssm_hippo_name(sp.measure).decode(), sp.N)
        r, N = (P.shape[0] if P is not None else 0), sp.N
        # rank one: the secular route wins at every size; higher rank: Lanczos + Woodbury from N = 256
        want = route == "dplr" or (route == "auto" and r > 0 and N % 2 == 0 and (r == 1 or N >= 256))
        if want and (r == 0 or N % 2):
            _usage("pspec: --route dplr needs a measure with a low-rank correction and even N")
        m = _System(A=A.astype(complex))
        if want:
            try:
                m.lam, m.P = _hippo_dplr(A, B, P)
            except Exception as e:
                if route == "dplr" or getattr(e, "status", None) == "ENOMEM":
                    raise   # auto: the dense route instead, after a numerical failure (never out of memory)
        m.text = sp.text   # the spec as the CLI prints it in --json
        return m
    if sp.kind == "init":
        A, lam, P = _state_matrix(sp.init)
        m = _System(A, lam, P)
    elif sp.kind == "target":
        m = _System(A=np.ascontiguousarray(sp.init.tensors["A_target"], dtype=complex))
    else:
        m = _System(A=sp.Z, real=not sp.is_complex)
    if m.lam is not None and route == "dense":
        m.A, m.lam, m.P = m.dense(), None, None
    if m.lam is None and route == "dplr":
        _usage(f"pspec: --route dplr: '{sp.text}' has no DPLR form")
    m.text = sp.text   # the spec as the CLI prints it in --json
    return m


def _eigenvalues_for_box(m, A):
    """The eigenvalues behind EigTool's default box when the plan has none (DPLR): the diagonal of a
    triangular A, else zgeev once."""
    upper_zero, lower_zero = not np.triu(A, 1).any(), not np.tril(A, -1).any()
    if upper_zero or lower_zero:
        return np.ascontiguousarray(np.diag(A))
    own = np.zeros(A.shape[0], complex)
    Ac = np.ascontiguousarray(A)  # kept alive: the struct holds only its data pointer
    _check(lib.ssm_zmat_eigvals(_zptr(own), ctypes.byref(_zmat(Ac))))
    return own


def _grid(m, A, nx, ny, box, po):
    plan = ctypes.c_void_p()
    if m.lam is not None:
        mP = _zmat(m.P)
        _check(lib.ssm_pspec_plan_create_dplr(ctypes.byref(plan), _zptr(m.lam), ctypes.byref(mP), ctypes.byref(mP),
                                              1 if m.real else 0, ctypes.byref(po)))
    else:
        _check(lib.ssm_pspec_plan_create(ctypes.byref(plan), ctypes.byref(_zmat(m.A)), ctypes.byref(po)))
    try:
        b = (ctypes.c_double * 4)()
        if box is None:
            ev = lib.ssm_pspec_eigenvalues(plan)
            own = None if ev else _eigenvalues_for_box(m, A)
            lib.ssm_pspec_box(b, ev if ev else _zptr(own), m.n, 1 if m.real else 0)
        else:
            for k in range(4):
                b[k] = float(box[k])
        sigma = np.zeros(nx * ny)
        info = PspecInfo()
        _check(lib.ssm_pspec_grid(sigma.ctypes.data_as(_lib.c_double_p), plan, b, nx, ny, ctypes.byref(info), None))
        inf = {k: getattr(info, k) for k, _ in PspecInfo._fields_}
        inf["route"] = info.route.decode() if info.route else None
        return sigma.reshape(ny, nx), list(b), inf
    finally:
        lib.ssm_pspec_plan_free(plan)


def _scalars(A, abscissa, radius):
    out = {}
    its = ctypes.c_int()
    Ac = np.ascontiguousarray(A)  # kept alive: the struct holds only its data pointer
    mA = _zmat(Ac)
    if abscissa is not None:
        alpha, z = ctypes.c_double(), np.zeros(1, complex)
        _check(lib.ssm_pspec_abscissa(ctypes.byref(alpha), _zptr(z), ctypes.byref(its), ctypes.byref(mA),
                                      float(abscissa)), "pspec: abscissa")
        out.update(eps=float(abscissa), abscissa=alpha.value, abscissa_at=complex(z[0]), abscissa_sweeps=its.value)
    if radius:
        beta, w = ctypes.c_double(), ctypes.c_double()
        _check(lib.ssm_stability_radius(ctypes.byref(beta), ctypes.byref(w), ctypes.byref(its), ctypes.byref(mA)),
               "pspec: radius")
        out.update(stability_radius=beta.value, stability_radius_omega=w.value)
    return out


def _check_options(grid, box, tol, max_iter, method, route, threads, abscissa):
    if grid is not None:
        if isinstance(grid, (int, np.integer)):
            grid = (grid, grid)
        nx, ny = int(grid[0]), int(grid[1])
        if not (2 <= nx <= 4000 and 2 <= ny <= 4000):
            _usage("pspec: grid must be NX or (NX, NY) with 2 <= NX, NY <= 4000")
        grid = (nx, ny)
    if box is not None and not (len(box) == 4 and np.all(np.isfinite(box)) and box[1] > box[0] and box[3] > box[2]):
        _usage("pspec: box must be (X0, X1, Y0, Y1) with X0 < X1, Y0 < Y1")
    if tol and not 1e-14 <= tol <= 0.1:
        _usage(f"pspec: tol must be in [1e-14, 0.1], got {tol}")
    if max_iter and not 1 <= max_iter <= 1000:
        _usage(f"pspec: max_iter must be in [1, 1000], got {max_iter}")
    if threads and not 1 <= threads <= 64:
        _usage(f"pspec: threads must be in [1, 64], got {threads}")
    if method not in _METHODS:
        _usage(f"pspec: method must be fast or record, got {method!r}")
    if route not in ("auto", "dense", "dplr"):
        _usage(f"pspec: route must be auto, dense or dplr, got {route!r}")
    if method == "record" and route == "dplr":
        _usage("pspec: method record works on the Schur form; it excludes route dplr")
    if abscissa is not None and not (abscissa > 0 and np.isfinite(abscissa)):
        _usage(f"pspec: abscissa must be a positive number, got {abscissa!r}")
    return grid


def pspec(spec, grid=None, box=None, tol=0.0, max_iter=0, method="fast", route="auto", threads=0, abscissa=None,
          radius=False, **init_opts):
    """Pseudospectra as `ssmkit pspec SPEC [--grid NXxNY] [--box X0:X1:Y0:Y1] [--abscissa EPS] [--radius] ...`.

    spec: "hippo:MEASURE:N" (the DPLR form of its NPLR decomposition where the CLI takes it: rank one,
    or N >= 256), "init:METHOD:N" (built with init_opts, the options of ssmkit.init), "target:FILE"
    (A_target), an init file or InitFile (its model: DPLR files by the DPLR plan unless route="dense",
    PTD as A_target + E, S5 as V Λ V⁻¹, diagonal inits as diag(Λ)), a matrix file (.npy, .tsv,
    .safetensors with A) or a square numpy array.
    grid: NX or (NX, NY); None (default): 100×100 unless abscissa or radius is asked (then no grid,
    as the CLI without -o).  box = (x0, x1, y0, y1), default EigTool's.  abscissa=EPS adds α_EPS(A)
    (criss-cross), radius=True β(A) (A must be stable: else Error EINVAL).  Returns a PspecResult."""
    grid = _check_options(grid, box, tol, max_iter, method, route, threads, abscissa)
    scalars = abscissa is not None or bool(radius)
    if grid is None and not scalars:
        grid = (100, 100)
    m = _system(spec, "dense" if method == "record" else route, init_opts, scalars)
    n = m.n
    A = m.dense() if (scalars or box is None) else m.A
    res = _scalars(A, abscissa, radius) if scalars else {}
    text = m.text
    if grid is None:
        return PspecResult(n, scalars=res, spec=text)
    po = PspecOpts(method=_METHODS[method], tol=float(tol), max_iter=int(max_iter), threads=int(threads))
    sigma, b, info = _grid(m, A, grid[0], grid[1], box, po)
    return PspecResult(n, sigma, b, info, res, spec=text)
