"""The ctypes API against the CLI: init byte for byte, load, verify, transfer and pspec to 1e-12,
hippo exact, errors mapped to ssmkit.Error."""
import json
import os

import numpy as np

import ssmkit
from common import cli, tmp, read_tsv, read_safetensors, rel

# (method, N, python kwargs, CLI flags)
INIT_CASES = [
    ("s4d-legs", 16, {}, []),
    ("s4d-lin", 8, {}, []),
    ("s4d-inv", 8, {"C": "random", "seed": 3}, ["--C", "random", "--seed", "3"]),
    ("s4d-real", 8, {"conj_sym": False}, ["--no-conj-sym"]),
    ("s4-dplr", 16, {"clip_im_B": 2.0}, ["--clip-im-B", "2"]),
    ("s5-legs", 16, {"blocks": 2}, ["--blocks", "2"]),
    ("ptd", 16, {"eps": 0.1, "omega": (1e-2, 1e3, 500)}, ["--eps", "0.1", "--omega", "1e-2:1e3:500"]),
]


def _cli_file(method, N, flags=()):
    path = tmp(f"cli-{method}-{N}-{'_'.join(flags).replace('-', '')}.safetensors")
    if not os.path.exists(path):
        cli("init", method, "-N", N, "-o", path, "-q", *flags)
    return path


def test_init_byte_identical():
    for method, N, kw, flags in INIT_CASES:
        ref = _cli_file(method, N, flags)
        f = ssmkit.init(method, N, **kw)
        out = tmp(f"py-{method}-{N}.safetensors")
        f.save(out)
        a, b = open(out, "rb").read(), open(ref, "rb").read()
        assert a == b, f"{method} N={N}: {len(a)} vs {len(b)} bytes differ"
    return f"{len(INIT_CASES)} methods, files identical byte for byte"


def test_load_matches_file():
    for method, N, kw, flags in INIT_CASES:
        ref = _cli_file(method, N, flags)
        f = ssmkit.load(ref)
        t, meta = read_safetensors(ref)
        assert f.metadata == meta, method
        assert set(f.raw) == set(t), method
        for k in t:
            assert np.array_equal(f.raw[k], t[k]), (method, k)
            if k in ("Lambda", "B", "V", "Vinv", "P"):
                assert np.array_equal(f.tensors[k], t[k][..., 0] + 1j * t[k][..., 1]), (method, k)
        assert np.array_equal(f.lambda_, f.tensors["Lambda"]) and np.array_equal(f.B_tilde, f.tensors["B"])
        if "V" in t and "C_target" in t:
            assert rel(f.C_tilde, t["C_target"] @ f.tensors["V"]) < 1e-13, method
        assert (f.N, f.M) == (N, N // 2 if kw.get("conj_sym", True) else N)
    return "tensors, metadata, C~ = C_target V"


def test_verify_and_tamper():
    ref = _cli_file("s4d-legs", 16)
    rep = ssmkit.verify(ref)
    _, out, _ = cli("verify", ref, "--json")
    js = json.loads(out)
    assert rep.ok and js["ok"] and len(rep) == len(js["checks"])
    assert [i["key"] for i in rep] == [c["key"] for c in js["checks"]]
    q = js["quality"]  # the quality verdict, apart from integrity, as the CLI states it
    assert (rep.tf_error, rep.tf_signal, rep.tf_relative, rep.quality) == \
        (q["tf_error"], q["tf_signal"], q["tf_relative"], q["verdict"]) and rep.quality == "poor"
    # a stored check altered (metadata is outside the tensor checksum): a result, not an exception
    raw = bytearray(open(ref, "rb").read())
    k = raw.find(b'"kappa_V":"') + len(b'"kappa_V":"')
    raw[k] = ord("9") if raw[k] != ord("9") else ord("8")
    bad = tmp("tampered-meta.safetensors")
    open(bad, "wb").write(raw)
    rep2 = ssmkit.verify(bad)
    rc, _, _ = cli("verify", bad, "-q", check=False)
    assert not rep2.ok and rep2.failed >= 1 and not rep2["kappa_V"]["ok"] and rc == 1
    # verify of an in-memory file, and the multiprecision checks
    mp = ssmkit.verify(ssmkit.init("s4d-legs", 8), prec=128)
    keys = {x["key"]: x for x in mp.mp}
    assert mp.ok and "kappa_V" in keys and keys["kappa_V"]["digits"] > 10, mp.mp
    return f"{len(rep)} checks agree with `verify --json`; tampered kappa_V -> ok=False, failed={rep2.failed}"


def _expect_error(status, fn, *a, **k):
    try:
        fn(*a, **k)
    except ssmkit.Error as e:
        assert e.status == status, f"{e.status} != {status}: {e.message}"
        assert e.message, "empty message"
        return e.message
    raise AssertionError(f"no ssmkit.Error ({status})")


def test_errors():
    msgs = []
    msgs.append(_expect_error("EINVAL", ssmkit.hippo, "nope", 4))
    msgs.append(_expect_error("EINVAL", ssmkit.hippo, "fout", 5))
    msgs.append(_expect_error("EINVAL", ssmkit.init, "s4d-lin", 7))
    msgs.append(_expect_error("EINVAL", ssmkit.init, "s4d-lin", 8, blocks=2))
    msgs.append(_expect_error("EIO", ssmkit.load, tmp("missing.safetensors")))
    junk = tmp("junk.safetensors")
    open(junk, "wb").write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    msgs.append(_expect_error("EFORMAT", ssmkit.load, junk))
    # a tensor altered after writing: the checksum refuses it
    ref = _cli_file("s4d-lin", 8)
    raw = bytearray(open(ref, "rb").read())
    raw[-1] ^= 1
    bad = tmp("tampered-data.safetensors")
    open(bad, "wb").write(raw)
    m = _expect_error("EFORMAT", ssmkit.load, bad)
    assert "data_fnv1a64" in m or "checksum" in m, m
    msgs.append(_expect_error("EINVAL", ssmkit.transfer, "target:" + _cli_file("s4d-lin", 8), [1.0]))
    return f"{len(msgs) + 1} error cases, e.g. {msgs[0]!r}"


def _cli_transfer(spec, omega, *flags):
    out = tmp("tf.tsv")
    cli("transfer", spec, "--omega", omega, "-o", out, "-q", *flags)
    return read_tsv(out)


def test_transfer_vs_cli():
    legs, dplr, ptd = _cli_file("s4d-legs", 16), _cli_file("s4-dplr", 16, ["--clip-im-B", "2"]), \
        _cli_file("ptd", 16, ["--eps", "0.1", "--omega", "1e-2:1e3:500"])
    cases = [
        (legs, None, "1e-2:1e3:200:log", {}, []),
        (dplr, None, "1e-2:1e3:200:log", {}, []),
        ("target:" + ptd, None, "0:50:101", {}, []),
        ("hippo:legs:16", None, "1e-2:1e3:200:log", {"C": "random", "seed": 5}, ["--C", "random", "--seed", "5"]),
        ("init:s4d-inv:16", None, "0.5:20:40", {}, []),
        (ptd, "target:" + ptd, "1e-1:1e3:300:log", {}, []),
    ]
    worst = 0.0
    for spec, vs, om, kw, flags in cases:
        T = _cli_transfer(spec, om, *(["--vs", vs] if vs else []), *flags)
        w = ssmkit._parse_omega(om)
        assert np.array_equal(w, T[:, 0]), spec
        r = ssmkit.transfer(spec, om, vs=vs, **kw)
        G1, G2 = r if vs else (r, None)
        worst = max(worst, rel(G1.real, T[:, 1]), rel(G1.imag, T[:, 2]), rel(np.abs(G1), T[:, 3]))
        if vs:
            worst = max(worst, rel(G2.real, T[:, 4]), rel(G2.imag, T[:, 5]), rel(np.abs(G1 - G2), T[:, 7]))
        # an InitFile object gives the same as its path
        if os.path.exists(spec):
            assert np.array_equal(ssmkit.transfer(ssmkit.load(spec), w), G1)
    assert worst <= 1e-12, worst
    return f"{len(cases)} specs (diag, DPLR, target, hippo, init:, --vs): max rel diff {worst:.1e}"


def _cli_pspec(spec, *flags):
    out = tmp("ps.tsv")
    cli("pspec", spec, "-o", out, "-q", *flags)
    return read_tsv(out)


def test_pspec_vs_cli():
    A = ssmkit.hippo("legt", 12)[0]
    npy = tmp("legt12.npy")
    np.save(npy, A)
    cases = [
        (npy, A, {"grid": (21, 17)}, ["--grid", "21x17"]),
        (npy, A, {"grid": (9, 8), "box": (-9, 1, -6, 6)}, ["--grid", "9x8", "--box", "-9:1:-6:6"]),
        (_cli_file("s4-dplr", 16, ["--clip-im-B", "2"]), None, {"grid": (15, 15)}, ["--grid", "15x15"]),
        (_cli_file("s4-dplr", 16, ["--clip-im-B", "2"]), None, {"grid": (12, 10), "route": "dense"},
         ["--grid", "12x10", "--route", "dense"]),
        (_cli_file("ptd", 16, ["--eps", "0.1", "--omega", "1e-2:1e3:500"]), None, {"grid": (16, 12)},
         ["--grid", "16x12"]),
        (_cli_file("s5-legs", 16, ["--blocks", "2"]), None, {"grid": (10, 10)}, ["--grid", "10x10"]),
    ]
    worst, routes = 0.0, []
    for path, mat, kw, flags in cases:
        T = _cli_pspec(path, *flags)
        ps = ssmkit.pspec(mat if mat is not None else path, **kw)
        tab = ps.table()
        assert tab.shape == T.shape, (path, tab.shape, T.shape)
        worst = max(worst, rel(tab[:, 0], T[:, 0]), rel(tab[:, 1], T[:, 1]),
                    float(np.max(np.abs(tab[:, 2] - T[:, 2]) / np.maximum(T[:, 2], 1e-300))))
        routes.append(ps.info["route"])
    assert worst <= 1e-12, worst
    return f"{len(cases)} cases (routes {', '.join(routes)}): max rel diff {worst:.1e}"


def test_hippo_vs_cli():
    for meas, N in (("legs", 8), ("legt", 6), ("fout", 6), ("legsd", 5), ("lagt", 7)):
        A, B, P = ssmkit.hippo(meas, N)
        out = tmp(f"h-{meas}.safetensors")
        cli("hippo", meas, "-N", N, "-o", out, "-q")
        t, _ = read_safetensors(out)
        assert np.array_equal(A, t["A"]) and np.array_equal(B, t["B"]), meas
        assert (P is None) == ("P" not in t) and (P is None or np.array_equal(P, t["P"])), meas
    A, B, P, exact = ssmkit.hippo("legs", 4, prec=100)
    _, out, _ = cli("hippo", "legs", "-N", 4, "--prec", 100)
    rows = [ln.split() for ln in out.splitlines() if ln and not ln.startswith("#")]
    assert exact["A"] == rows and len(exact["B"]) == 4 and len(exact["P"]) == 1
    return "5 measures bit-identical to `ssmkit hippo`; prec=100 strings identical"


def test_eig_and_state_matrix():
    f = ssmkit.init("s4d-legs", 16)
    # eig of an init file is its A_target (as `ssmkit eig FILE`); the model's matrix is state_matrix
    assert np.array_equal(np.sort(ssmkit.eig(f).eigenvalues.real), -np.arange(16.0, 0, -1))
    A = ssmkit.state_matrix(f)
    e = ssmkit.eig(A)
    lam = np.concatenate([f.lambda_, f.lambda_.conj()])
    key = lambda z: z[np.argsort(z.imag)]
    assert rel(key(e["eigenvalues"]), key(lam)) < 1e-14
    # DPLR: diag(Λ) − P P* is unitarily similar to LegS, whose eigenvalues are -1 .. -16; in double they
    # move by up to kappa(V)·‖δA‖ (first-order perturbation), ‖δA‖ <= 16·ε·‖A‖₂ for forming the matrix
    # and zgeev's backward error
    g = ssmkit.init("s4-dplr", 16)
    Ag = ssmkit.state_matrix(g)
    ev = np.sort_complex(ssmkit.eig(Ag).eigenvalues)
    kappa = ssmkit.eig("hippo:legs:16", prec=128).kappa_V
    err, bound = float(np.max(np.abs(ev + np.arange(16.0, 0, -1)))), kappa * 16 * 2.0 ** -52 * np.linalg.norm(Ag, 2)
    assert err <= bound, (err, bound)
    d = ssmkit.eig(ssmkit.hippo("legs", 16)[0])
    assert d["kappa_V"] > 1e3 and d["backward_error"] < 1e-13
    return f"LegS N=16 kappa_V {d['kappa_V']:.3g}; DPLR model's spectrum = LegS's to {err:.1e} (bound {bound:.1e})"
