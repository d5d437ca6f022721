"""ssmkit.pspec for every spec `ssmkit pspec` takes, with the abscissa and the stability radius:
against the CLI's --json and grid (1e-12), against closed forms, and its errors."""
import json
import math
import time

import numpy as np

import ssmkit
from common import cli, tmp, read_tsv
from test_eig import _num_diff


def _files():
    ptd = tmp("ps-ptd16.safetensors")
    cli("init", "ptd", "-N", 16, "--eps", "0.1", "--omega", "1e-2:1e3:300", "-o", ptd, "-q")
    dplr = tmp("ps-dplr16.safetensors")
    cli("init", "s4-dplr", "-N", 16, "-o", dplr, "-q")
    hip = tmp("ps-lagt8.safetensors")     # a plain safetensors matrix: tensor A
    cli("hippo", "lagt", "-N", 8, "-o", hip, "-q")
    rng = np.random.default_rng(3)
    cplx = tmp("ps-complex9.npy")
    np.save(cplx, rng.standard_normal((9, 9)) - 6 * np.eye(9) + 1j * rng.standard_normal((9, 9)))
    tsv = tmp("ps-legt6.tsv")
    cli("hippo", "legt", "-N", 6, "-o", tsv, "-q")
    return ptd, dplr, hip, cplx, tsv


def _flags(kw):
    out = []
    for k, v in kw.items():
        if k == "grid":
            out += ["--grid", f"{v[0]}x{v[1]}" if isinstance(v, tuple) else v]
        elif k == "box":
            out += ["--box", ":".join(map(str, v))]
        elif k == "radius":
            out += ["--radius"]
        else:
            out += ["--" + k.replace("_", "-"), v]
    return out


def test_pspec_every_spec_vs_cli():
    ptd, dplr, hip, cplx, tsv = _files()
    S = {"abscissa": 0.05, "radius": True}
    cases = [
        ("hippo:legs:32", {"grid": (20, 15)}),                      # rank one: the secular DPLR route
        ("hippo:legs:32", S),
        ("hippo:legt:16", {"grid": 12, **S}),                       # rank two below 256: dense
        ("hippo:legt:256", {"grid": (6, 5)}),                       # rank two at 256: Lanczos + Woodbury
        ("hippo:fout:16", {"grid": 11, "route": "dplr"}),
        ("hippo:legs:24", {"grid": 9, "route": "dense", "method": "record"}),
        ("init:s4d-legs:16", {"grid": 10, "abscissa": 0.01}),
        ("init:ptd:16", {"grid": 8, "radius": True}),
        ("target:" + ptd, {"grid": (9, 7), **S}),
        (ptd, {"grid": 10, **S}),
        (dplr, {"grid": 10, "box": (-20, 2, -300, 300), **S}),
        (hip, {"grid": 9, **S}),
        (cplx, {"grid": 8, **S}),
        (tsv, {"grid": (7, 9), "tol": 1e-8, "max_iter": 50, **S}),
    ]
    worst, routes = 0.0, []
    for spec, kw in cases:
        flags = _flags(kw)
        r = ssmkit.pspec(spec, **kw)
        out = tmp("ps.tsv")
        grid = "grid" in kw
        _, js, _ = cli("pspec", spec, "--json", "-q", *flags, *(["-o", out] if grid else []))
        worst = max(worst, _num_diff(r.as_dict(), json.loads(js)))
        if grid:
            T = read_tsv(out)
            tab = r.table()
            assert tab.shape == T.shape, (spec, tab.shape, T.shape)
            worst = max(worst, float(np.max(np.abs(tab - T) / np.maximum(np.abs(T), 1e-300))))
            routes.append(r.info["route"])
    # an array and an InitFile are the file
    a = ssmkit.pspec(np.load(cplx), grid=8, **S).as_dict()
    b = ssmkit.pspec(ssmkit.load(ptd), grid=10, **S).as_dict()
    assert _num_diff(a, ssmkit.pspec(cplx, grid=8, **S).as_dict()) == 0
    assert _num_diff(b, ssmkit.pspec(ptd, grid=10, **S).as_dict()) == 0
    assert worst <= 1e-12, worst
    return f"{len(cases)} cases (routes {' '.join(sorted(set(routes)))}): JSON and grid max rel diff {worst:.1e}"


def test_pspec_closed_forms():
    # A = -I + cN (2x2 Jordan-like): sigma_min(zI - A) = sqrt(|w|^2 + c^2/4) - c/2, w = z + 1, so
    # alpha_eps = -1 + sqrt(eps^2 + eps c) and beta = sqrt(1 + c^2/4) - c/2 (at omega = 0)
    c, eps = 3.0, 0.1
    A = np.array([[-1.0, c], [0.0, -1.0]])
    r = ssmkit.pspec(A, grid=(9, 7), box=(-3, 1, -2, 2), abscissa=eps, radius=True)
    alpha, beta = -1 + math.sqrt(eps * eps + eps * c), math.sqrt(1 + c * c / 4) - c / 2
    assert abs(r.abscissa - alpha) <= 1e-10 * abs(alpha), (r.abscissa, alpha)
    assert abs(r.stability_radius - beta) <= 2e-10 * beta and abs(r.stability_radius_omega) < 1e-6, r.as_dict()
    w = (r.x[None, :] + 1j * r.y[:, None]) + 1
    exact = np.abs(w) ** 2 / (np.sqrt(np.abs(w) ** 2 + c * c / 4) + c / 2)   # no cancellation near w = 0
    # the accuracy promise of the fast path (README): relative 1e-4, absolute 10 eps ||A|| near the spectrum
    floor = 10 * 2.0 ** -52 * np.linalg.norm(A, 2)
    grid_err = float(np.max(np.abs(r.sigma - exact) / (exact + floor)))
    assert grid_err <= 1e-4 and float(r.sigma[3, 4]) <= floor, (grid_err, r.sigma[3, 4])   # z = -1: 0
    # normal matrices: sigma_min = distance to the spectrum; S4D-Lin has Re λ = -1/2 throughout
    f = ssmkit.init("s4d-lin", 16)
    n = ssmkit.pspec(f, abscissa=0.01, radius=True)
    assert abs(n.abscissa - (-0.5 + 0.01)) < 1e-12 and abs(n.stability_radius - 0.5) < 1e-9, n.as_dict()
    assert n.sigma is None   # scalars only: no grid unless asked, as the CLI without -o
    return (f"alpha {r.abscissa:.12g} (exact {alpha:.12g}), beta {r.stability_radius:.12g} (exact {beta:.12g}), "
            f"grid vs closed form {grid_err:.1e}; S4D-Lin alpha = -0.49, beta = 0.5")


def test_pspec_errors():
    cases = [
        (("hippo:legs:16",), {"grid": 1}, 2),
        (("hippo:legs:16",), {"box": (1, 0, -1, 1)}, 2),
        (("hippo:legs:16",), {"method": "record", "route": "dplr"}, 2),
        (("hippo:lmu:16",), {"route": "dplr"}, 2),                   # no low-rank correction
        ((tmp("ps-complex9.npy"),), {"route": "dplr"}, 2),
        (("init:ptd:2048",), {}, 2),                                   # refused before it is built
        (("hippo:legs:3000",), {"abscissa": 0.1}, 2),                  # checked before anything is built
        ((tmp("missing.npy"),), {}, 2),
        ((np.array([[1.0, 0.0], [0.0, 2.0]]),), {"radius": True}, None),   # unstable: no radius
    ]
    for args, kw, rc_cli in cases:
        try:
            ssmkit.pspec(*args, **kw)
            raise AssertionError(f"pspec{args} {kw}: no error")
        except ssmkit.Error as e:
            assert e.status in ("EINVAL", "EIO"), (args, kw, e.status, e.message)
        if rc_cli is not None:
            t0 = time.time()
            rc, _, err = cli("pspec", *args, *_flags(kw), "-q", check=False)
            # refused before the expensive part: the NPLR form of LegS at N = 3000 alone takes ~20 s here
            assert rc == rc_cli and err.count("\n") == 1 and time.time() - t0 < 5, (args, kw, rc, err)
    return f"{len(cases)} refusals (EINVAL/EIO, CLI exit 2 with one line, at once)"
