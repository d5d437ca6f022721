"""ssmkit.eig against `ssmkit eig --json` and `-o FILE.tsv` (double and multiprecision, every route,
certification, every spec kind), against values known independently of the program (the exact LegS
spectrum, κ₂(V) of doc/reference.md §4), and its errors."""
import json
from fractions import Fraction

import numpy as np

import ssmkit
from common import cli, tmp


def _num_diff(a, b, path="$"):
    """Largest relative difference between two JSON-like values; structure and strings must match."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        return max([_num_diff(a[k], b[k], f"{path}.{k}") for k in b] + [0.0])
    if isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{path}: lengths differ"
        return max([_num_diff(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))] + [0.0])
    if isinstance(b, (str, bool)) or b is None:
        assert a == b, f"{path}: {a!r} != {b!r}"
        return 0.0
    assert isinstance(a, (int, float)) and not isinstance(a, bool), f"{path}: {a!r} is not a number"
    return abs(a - b) / abs(b) if b else abs(a)


def _files():
    """A PTD init file (its A_target is LegS), its perturbed matrix A_target + E as .npy, a complex
    .npy and a .tsv matrix."""
    ptd = tmp("eig-ptd16.safetensors")
    cli("init", "ptd", "-N", 16, "--eps", "0.1", "--omega", "1e-2:1e3:300", "-o", ptd, "-q")
    f = ssmkit.load(ptd)
    pert = tmp("eig-ptd16-AE.npy")
    np.save(pert, f.tensors["A_target"] + f.tensors["E"])
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((7, 7)) + 1j * rng.standard_normal((7, 7))
    cplx = tmp("eig-complex7.npy")
    np.save(cplx, Z)
    tsv = tmp("eig-legt6.tsv")
    cli("hippo", "legt", "-N", 6, "-o", tsv, "-q")
    diag = tmp("eig-diag3.npy")   # an exact decomposition: backward error 0, its log10 -inf
    np.save(diag, np.diag([-1.0, -2.0, -3.0]))
    return ptd, pert, cplx, tsv, diag


def test_eig_vs_cli_json():
    ptd, pert, cplx, tsv, diag = _files()
    # (spec, python kwargs, CLI flags): every route, rotate, certify, each spec kind
    cases = [
        ("hippo:legs:16", {"prec": 256}, ["--prec", 256]),                             # triangular
        ("hippo:legs:10", {"prec": 128, "rotate": 3}, ["--prec", 128, "--rotate", 3]),  # newton
        ("hippo:legs:8", {"prec": 128, "route": "qr"}, ["--prec", 128, "--route", "qr"]),
        ("hippo:legs:6", {"certify": True}, ["--certify"]),
        ("hippo:legt:8", {"prec": 200, "digits": 30}, ["--prec", 200, "--digits", 30]),
        ("hippo:legs:12", {}, []),                                                       # LAPACK
        (pert, {"prec": 128}, ["--prec", 128]),
        (ptd, {"prec": 100}, ["--prec", 100]),                                           # its A_target
        (ptd, {}, []),
        (cplx, {"prec": 100, "certify": True}, ["--prec", 100, "--certify"]),
        (tsv, {"prec": 80}, ["--prec", 80]),
        (diag, {}, []),
        (diag, {"prec": 100}, ["--prec", 100]),
    ]
    worst, routes = 0.0, []
    for spec, kw, flags in cases:
        r = ssmkit.eig(spec, **kw)
        _, out, _ = cli("eig", spec, "--json", *flags)
        worst = max(worst, _num_diff(r.as_dict(), json.loads(out)))
        routes.append(r.route)
        # the eigenvalue digits are those of -o FILE.tsv
        t = tmp("eig.tsv")
        cli("eig", spec, "-o", t, "-q", *flags)
        rows = [tuple(ln.split()) for ln in open(t) if ln.strip() and not ln.startswith("#")]
        assert rows == r.eigenvalues_str, (spec, rows[:2], r.eigenvalues_str[:2])
    # a numpy array and an InitFile object are the .npy file and the init file
    for x, path in ((np.load(cplx), cplx), (ssmkit.load(ptd), ptd)):
        a, b = ssmkit.eig(x, prec=100).as_dict(), ssmkit.eig(path, prec=100).as_dict()
        a["spec"] = b["spec"]   # "array" / the InitFile's source
        assert a == b, path
    assert worst <= 1e-12, worst
    return f"{len(cases)} cases (routes {' '.join(sorted(set(routes)))}): JSON max rel diff {worst:.1e}, TSV digits identical"


def test_eig_against_known_values():
    # LegS: eigenvalues exactly -(n+1); kappa_2(V) with unit columns from doc/reference.md §4
    known = {8: 7.70324e4, 16: 8.31986e10, 24: 9.89857e16}
    for N, kappa in known.items():
        r = ssmkit.eig(f"hippo:legs:{N}", prec=256)
        assert r.route == "triangular" and r.digits >= 70, (N, r.digits)
        assert abs(r.kappa_V / kappa - 1) < 1e-5, (N, r.kappa_V, kappa)   # the reference gives 6 digits
        assert sorted(Fraction(re) for re, im in r.eigenvalues_str) == [Fraction(-k) for k in range(N, 0, -1)]
    # the trap of §4: a rotated LegS; the double eigenvalues are off, the vouched digits are right
    N = 24
    r = ssmkit.eig(f"hippo:legs:{N}", prec=256, rotate=5)
    d = ssmkit.eig(f"hippo:legs:{N}", rotate=5)
    exact = np.array([-(k + 1.0) for k in range(N)])
    err_mp = max(abs(Fraction(re) - Fraction(-(k + 1))) + abs(Fraction(im))
                 for k, (re, im) in enumerate(sorted(r.eigenvalues_str, key=lambda t: -Fraction(t[0]))))
    err_d = float(np.max(np.abs(np.sort(d.eigenvalues.real)[::-1] - exact)))
    assert float(err_mp) < N * 10.0 ** -r.digits, (err_mp, r.digits)   # within the digits vouched for
    assert err_d > 1e-6, err_d                                        # double precision cannot see them
    assert abs(r.kappa_V / known[24] - 1) < 1e-5                      # the same kappa after the rotation
    return (f"LegS kappa_V N=8,16,24 to 1e-5 of reference.md; rotated N=24: mp error {float(err_mp):.1e} "
            f"({r.digits:.0f} digits vouched), double error {err_d:.1e}")


def test_eig_errors():
    j = tmp("jordan.npy")
    np.save(j, np.array([[0.0, 1.0], [0.0, 0.0]]))
    rect = tmp("rect.npy")
    np.save(rect, np.ones((2, 3)))
    cases = [
        (("init:ptd:8",), {}, "EINVAL", 2),
        (("hippo:legs:8",), {"prec": 40}, "EINVAL", 2),
        (("hippo:legs:8",), {"route": "nope"}, "EINVAL", 2),
        (("hippo:legs:8",), {"digits": -1}, "EINVAL", 2),
        ((rect,), {}, "EINVAL", 2),
        (("hippo:nope:8",), {}, "EINVAL", 2),
        (("hippo:legs:2000",), {}, "EINVAL", 2),
        ((j,), {"prec": 100}, None, 1),     # defective: digits cannot be vouched for (CLI exit 1)
    ]
    flags = {"prec": "--prec", "route": "--route", "digits": "--digits"}
    for args, kw, status, rc_cli in cases:
        try:
            ssmkit.eig(*args, **kw)
            raise AssertionError(f"eig{args} {kw}: no error")
        except ssmkit.Error as e:
            assert status is None or e.status == status, (args, kw, e.status, e.message)
            assert e.status in ("ELOSS", "ENOCONV", "EINVAL") and e.message
            if rc_cli == 1:
                assert e.status in ("ELOSS", "ENOCONV"), e.status
        rc, _, err = cli("eig", *args, *[x for k, v in kw.items() for x in (flags[k], v)], check=False)
        assert rc == rc_cli and err.count("\n") == 1, (args, kw, rc, err)
    return f"{len(cases)} refusals, each an ssmkit.Error whose class matches the CLI's exit status"
