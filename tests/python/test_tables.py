"""Every TSV ssmkit writes, loaded with pandas.read_csv(f, sep='\\t', comment='#') and with
numpy.genfromtxt(f, names=True): the same column names (the documented ones), the same values, and values
checked against an independent source (a numpy recomputation, the JSON summary or the command's --json)."""
import glob
import json
import os

import numpy as np
import pandas as pd

from common import cli, cli_json, experiment, tmp, read_safetensors

SMALL = {  # the first variant of each experiment in test_json.py: the runs are shared
    "kappa-growth": ("--n-max", 8), "spikes": ("--n-max", 16), "convergence": ("--n-max", 8),
    "eps-sweep": ("--n-max", 8, "--eps", 0.1), "ptd-front": ("--n-max", 16), "pseudospectra": ("--n-max", 8),
    "bode": ("--n-max", 8), "robustness": ("--quick",),
}


def load(path, names):
    """Both loaders; they must agree with each other and with the documented names.  Returns the frame read
    with float_precision='round_trip': genfromtxt and pandas' round-trip parser give back the exact double
    of every %.17g value, pandas' default (fast) parser is off by up to ~20 ulps (measured: 19 ulps, 2.5e-15
    relative on bode.tsv, 1e-12 on values near 1e-15 in the pseudospectra grid: its xstrtod is not correctly
    rounded), hence the 1e-11 for it."""
    df = pd.read_csv(path, sep="\t", comment="#")
    assert list(df.columns) == names, f"{path}: pandas columns {list(df.columns)}, documented {names}"
    rt = pd.read_csv(path, sep="\t", comment="#", float_precision="round_trip")
    a = np.genfromtxt(path, names=True, dtype=None, encoding="utf-8")
    a = np.atleast_1d(a)
    assert list(a.dtype.names) == names, f"{path}: genfromtxt names {a.dtype.names}"
    assert len(a) == len(df) == len(rt), f"{path}: genfromtxt {len(a)} rows, pandas {len(df)}"
    for n in names:
        x, y, z = a[n], df[n].to_numpy(), rt[n].to_numpy()
        if df[n].dtype == object:
            assert [str(v) for v in x] == list(y) == list(z), f"{path}: column {n} differs between the loaders"
        else:
            x, y, z = x.astype(float), y.astype(float), z.astype(float)
            assert np.array_equal(x, z, equal_nan=True), f"{path}: column {n}: genfromtxt and pandas (round trip)"
            assert np.allclose(y, z, rtol=1e-11, atol=0, equal_nan=True), f"{path}: column {n}: pandas default"
    f = np.genfromtxt(path, names=True)  # the default dtype (float) loads too: labels become nan
    assert list(f.dtype.names) == names and len(np.atleast_1d(f)) == len(df)
    return rt


def legs(N):
    """HiPPO-LegS from its formula (README), independently of ssmkit."""
    n = np.arange(N)
    A = -np.sqrt(np.outer(2 * n + 1, 2 * n + 1))
    A = np.tril(A, -1) - np.diag(n + 1.0)
    return A, np.sqrt(2 * n + 1.0)


def close(a, b, tol, what):
    a, b = np.asarray(a), np.asarray(b)  # real or complex
    err = np.max(np.abs(a - b) / np.maximum(1e-300, np.abs(b)))
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol:.1g}"
    return err


def test_hippo_tables():
    N = 6
    A, B = legs(N)
    cli("hippo", "legs", "-N", N, "-o", tmp("t-A.tsv"))
    df = load(tmp("t-A.tsv"), [f"col{j}" for j in range(N)])
    close(df.to_numpy(), A, 1e-15, "A")  # correctly rounded: equal up to the formula's own rounding
    cli("hippo", "legs", "-N", N, "--what", "B", "-o", tmp("t-B.tsv"))
    close(load(tmp("t-B.tsv"), ["B"])["B"], B, 1e-15, "B")
    _, out, _ = cli("hippo", "legs", "-N", N, "--prec", 100)  # stdout, 31 digits per entry
    open(tmp("t-A100.tsv"), "w").write(out)
    close(load(tmp("t-A100.tsv"), [f"col{j}" for j in range(N)]).to_numpy(), A, 1e-15, "A at 100 bits")
    cli("hippo", "legt", "-N", N, "--what", "P", "-o", tmp("t-P.tsv"))
    P = load(tmp("t-P.tsv"), [f"col{j}" for j in range(N)]).to_numpy()
    n = np.arange(N)  # rank 2: sqrt(n + 1/2) on odd n / on even n
    close(P, [np.where(n % 2 == 1, np.sqrt(n + 0.5), 0), np.where(n % 2 == 0, np.sqrt(n + 0.5), 0)], 1e-15, "P")
    return "A, B, P, 100-bit stdout"


def test_transfer_table():
    N, w = 8, np.logspace(-1, 2, 7)
    cli("transfer", "hippo:legs:8", "--vs", "hippo:legt:8", "--omega", "0.1:100:7:log", "-o", tmp("t-tf.tsv"))
    df = load(tmp("t-tf.tsv"), ["omega", "re", "im", "abs", "re2", "im2", "abs2", "absdiff"])
    A, B = legs(N)
    n = np.arange(N)  # LegT (README table)
    At = -0.5 * np.sqrt(np.outer(2 * n + 1, 2 * n + 1)) * np.where(n[:, None] >= n[None, :], 1.0,
                                                                   (-1.0) ** (n[:, None] - n[None, :]))
    Bt = 0.5 * np.sqrt(2 * n + 1.0)
    G1 = np.array([np.ones(N) @ np.linalg.solve(1j * x * np.eye(N) - A, B) for x in w])
    G2 = np.array([np.ones(N) @ np.linalg.solve(1j * x * np.eye(N) - At, Bt) for x in w])
    close(df["omega"], w, 1e-14, "omega grid")
    e = close(df["re"] + 1j * df["im"], G1, 1e-10, "G LegS")  # Hessenberg vs LU solve: ~κ ε
    close(df["re2"] + 1j * df["im2"], G2, 1e-10, "G LegT")
    close(df["absdiff"], np.abs(G1 - G2), 1e-9, "|G1 - G2|")
    return f"G against numpy's solve: {e:.1e}"


def test_eig_table():
    cli("eig", "hippo:legs:6", "--prec", 100, "-o", tmp("t-ev.tsv"), "-q")
    df = load(tmp("t-ev.tsv"), ["re", "im"])
    assert sorted(df["re"]) == [-6, -5, -4, -3, -2, -1] and (df["im"] == 0).all()
    return "eigenvalues -1 ... -6 exactly"


def test_pspec_table():
    cli("pspec", "hippo:legs:8", "--grid", "6x5", "-o", tmp("t-ps.tsv"), "-q")
    df = load(tmp("t-ps.tsv"), ["re", "im", "sigma_min"])
    assert len(df) == 30
    A, _ = legs(8)
    s = [np.linalg.svd((x + 1j * y) * np.eye(8) - A, compute_uv=False)[-1] for x, y in zip(df["re"], df["im"])]
    # the accuracy promise of pspec: 1e-4 relative above 1e-8 |A|, 10 eps |A| absolute below
    nA = np.linalg.norm(A, 2)
    err = np.abs(df["sigma_min"] - s)
    assert np.all(err <= np.maximum(1e-4 * np.array(s), 10 * np.finfo(float).eps * nA)), err.max()
    return f"30 points against numpy's SVD, worst {err.max():.1e}"


def test_train_eval_tables():
    ck = tmp("t-ck")
    args = ["--d-model", 4, "--layers", 1, "--d-state", 4, "--n-train", 64, "--n-val", 32, "--n-test", 32,
            "--batch", 16, "--threads", 1, "--epochs", 2, "-q"]
    j = cli_json("train", "adding", "--init", "s4d-lin", *args, "--checkpoint", ck, "--log", tmp("t-log.tsv"),
                 "--json")
    cols = ["epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "time_s", "samples_per_s"]
    for f in (tmp("t-log.tsv"),):
        df = load(f, cols)
        assert list(df["epoch"]) == [1, 2] and df["step"].iloc[-1] == j["steps"]
        assert df["val_acc"].iloc[-1] == j["val_acc"] and df["val_loss"].iloc[-1] == j["val_loss"]
    cli("eval", ck, "--noise-sweep", "1:100:3", "--amps", "0.1,0.2", "-o", tmp("t-eval.tsv"))
    df = load(tmp("t-eval.tsv"), ["omega", "amp", "loss", "acc"])
    je = cli_json("eval", ck, "--noise-sweep", "1:100:3", "--amps", "0.1,0.2", "--json")
    assert (df["omega"].iloc[0], df["amp"].iloc[0]) == (0, 0)
    assert df["loss"].iloc[0] == je["clean"]["loss"] and df["acc"].iloc[0] == je["clean"]["acc"]
    assert list(df["loss"].iloc[1:]) == [r["loss"] for r in je["noisy"]] and len(df) == 7
    return "log (the JSON's last epoch), eval (its JSON)"


# ---- experiments --------------------------------------------------------------------------------------

TABLES = {  # file suffix -> documented names
    "kappa-growth": {"": "N log10_kappa_mp digits log10_kappa_double log10_c abs_log10_error_double"},
    "spikes": {"": "N omega_spike n2_over_pi max_abs_im_W height height_norm height_half_norm grid_height_norm "
                   "unhinted_norm omega_ratio", "-curves": "series N omega abs_dG_norm"},
    "convergence": {"": "N out_err_s05 out_err_s1 out_err_s2 sup_diag_norm omega_diag E_norm2 sup_ptd_norm "
                        "ptd_bound omega_ptd kappa_V_ptd sup_dplr_norm eps"},
    "eps-sweep": {"": "eps perturbation_norm E_norm2 kappa_V kappa_eps sup_norm sup_per_E max_re_lambda "
                      "omega_at_sup seconds sup_dplr_norm ones randC N"},
    "ptd-front": {"": "series N tf_weight eps perturbation_norm kappa_V ones randC max_re_lambda seconds"},
    "pseudospectra": {
        "": "system N norm_A abscissa_eps2 abscissa_eps6 beta kappa_V log10_kappa_V eps max_abs_im",
        "-panels": "panel system box_x0 box_x1 box_y0 box_y1 grid min_sigma max_sigma eig_inside eig_count "
                   "level_floor level_lo level_hi worst_ratio accept_ratio points_refined",
        "-levels": "panel level_log10 status segments worst_ratio",
        "-grid": "panel re im sigma_min", "-eigenvalues": "system re im",
        "-contours": "panel level_log10 xa ya xb yb"},
    "bode": {"": "method N sup_abs_diff omega_at_sup sup_rel abs_G_lo", "-curves": "series omega abs_G phase_deg"},
    "robustness": {"": "init clean_acc noisy_acc omega_star eps train_s final_val_acc samples_per_s omega_own "
                       "noisy_own_acc n_test seed d_model n_layers d_state n_train epochs",
                   "-noise": "init sweep omega amp acc loss",
                   "-curves": "init epoch step train_loss train_acc val_loss val_acc"},
}


def experiment_tables(name):
    d = experiment(name, *SMALL[name])
    written = sorted(os.path.basename(f) for f in glob.glob(os.path.join(d, name + "*.tsv")) if ".part-" not in f)
    want = sorted(name + s + ".tsv" for s in TABLES[name])
    assert written == want, f"{name}: tables {written}, documented {want}"
    t = {s: load(os.path.join(d, name + s + ".tsv"), names.split()) for s, names in TABLES[name].items()}
    return t, json.load(open(os.path.join(d, name + ".json")))


def test_kappa_growth_tables():
    t, j = experiment_tables("kappa-growth")
    df = t[""]
    assert list(df["N"]) == [k["N"] for k in j["kappa"]] and list(df["log10_kappa_mp"]) == [
        k["log10_kappa_V"] for k in j["kappa"]]
    # doc/reference.md §4: kappa_2(V) of LegS at N = 8 is 7.70324e4 (six digits)
    close(10 ** df.loc[df["N"] == 8, "log10_kappa_mp"].iloc[0], 7.70324e4, 5e-6 * 1.01, "kappa(8)")
    close(df["log10_c"], df["log10_kappa_mp"] - df["N"] * np.log10(3 + 2 * np.sqrt(2)), 1e-12, "log10_c")
    return f"{len(df)} sizes; kappa(8) against doc/reference.md"


def test_spikes_tables():
    t, j = experiment_tables("spikes")
    df, cv = t[""], t["-curves"]
    assert list(df["N"]) == [r["N"] for r in j["spikes"]]
    assert list(df["height_norm"]) == [r["height_normalised"] for r in j["spikes"]]
    for N, h in zip(df["N"], df["height_norm"]):
        c = cv[cv["series"] == f"N{N}"]
        assert len(c) > 1000 and (c["N"] == N).all()
        # the drawn curve passes through the refined sup (its frequency is one of the curve's points)
        close(c["abs_dG_norm"].max(), h, 1e-9, f"curve N = {N} against its refined height")
    return f"{len(df)} sizes; the curves reach the JSON's heights"


def test_convergence_tables():
    t, j = experiment_tables("convergence")
    df = t[""]
    for r, row in zip(j["rows"], df.itertuples()):
        assert (row.N, row.sup_ptd_norm, row.ptd_bound) == (r["N"], r["sup_ptd_normalised"], r["ptd_bound"])
        assert [row.out_err_s05, row.out_err_s1, row.out_err_s2] == r["output_error_sigma"]
    close(df["ptd_bound"], (2 * np.log(df["N"]) + 4) * df["E_norm2"], 1e-14, "the bound (2 ln N + 4)|E|_2")
    return f"{len(df)} rows against the JSON; the bound recomputed"


def test_eps_sweep_tables():
    t, j = experiment_tables("eps-sweep")
    df = t[""]
    assert list(df["eps"]) == [r["eps"] for r in j["rows"]] and list(df["kappa_V"]) == [r["kappa_V"] for r in j["rows"]]
    close(df["kappa_eps"], df["kappa_V"] * df["eps"], 1e-15, "kappa_eps")
    assert (df["N"] == j["N"]).all()
    return f"{len(df)} budgets"


def test_ptd_front_tables():
    t, j = experiment_tables("ptd-front")
    df = t[""]
    assert set(df["series"]) == {"sweep_N16_tau0", "sweep_N16_tau16", "sweep_N16_tau64", "sweep_N16_tau256",
                                 "init_ptd", "official"}
    ip = df[df["series"] == "init_ptd"]
    assert list(ip["kappa_V"]) == [r["kappa_V"] for r in j["at_official_budgets"]]
    off = df[df["series"] == "official"]
    assert off["tf_weight"].isna().all() and list(off["kappa_V"]) == [6.555, 8.312, 9.168]
    return f"{len(df)} rows, {df['series'].nunique()} series"


def test_pseudospectra_tables():
    t, j = experiment_tables("pseudospectra")
    sy, pa = t[""], t["-panels"]
    assert list(sy["system"]) == [s["system"] for s in j["systems"]]
    assert list(sy["beta"]) == [s["stability_radius"] for s in j["systems"]]
    assert list(pa["panel"]) == [p["panel"] for p in j["panels"]]
    for p, row in zip(j["panels"], pa.itertuples()):
        assert [row.box_x0, row.box_x1, row.box_y0, row.box_y1] == p["box"]
        lv = t["-levels"][t["-levels"]["panel"] == p["panel"]]
        assert sorted(lv.loc[lv["status"] == 0, "level_log10"]) == sorted(p["levels_drawn_log10"])
        g = t["-grid"][t["-grid"]["panel"] == p["panel"]]
        assert len(g) == p["grid"] ** 2 and g["sigma_min"].min() == p["min_sigma"]
    ev = t["-eigenvalues"]
    assert (ev.groupby("system").size() == j["N"]).all()
    return f"{len(pa)} panels; grids, levels, eigenvalues against the JSON"


def test_bode_tables():
    t, j = experiment_tables("bode")
    df, cv = t[""], t["-curves"]
    assert list(df["method"]) == [m["method"] for m in j["methods"]]
    assert list(df["sup_rel"]) == [m["relative_to_sup_legs"] for m in j["methods"]]
    N = int(df["N"].iloc[0])
    A, B = legs(N)  # the target's curve against numpy
    c = cv[cv["series"] == "legs"]
    w = c["omega"].to_numpy()[::97]
    G = np.array([np.ones(N) @ np.linalg.solve(1j * x * np.eye(N) - A, B) for x in w])
    close(c["abs_G"].to_numpy()[::97], np.abs(G), 1e-11, "|G_LegS|")
    assert list(cv["series"].unique()) == ["legs"] + list(df["method"])
    return f"{len(df)} methods; LegS curve against numpy"


def test_robustness_tables():
    t, j = experiment_tables("robustness")
    df, nz, cv = t[""], t["-noise"], t["-curves"]
    for r, row in zip(j["results"], df.itertuples()):
        assert (row.init, row.clean_acc, row.noisy_acc) == (r["init"], r["clean_acc"], r["noisy_acc"])
        sw = nz[(nz["init"] == r["init"]) & (nz["sweep"] == "amp")]
        assert list(sw["acc"]) == [a["acc"] for a in r["amp_sweep"]]
        assert len(cv[cv["init"] == r["init"]]) == row.epochs
    assert (df["n_test"] == j["n_test"]).all() and (df["d_state"] == j["d_state"]).all()
    return f"{len(df)} inits"


def test_part_files():
    """--job K part files are tables too (set, cols, values; labels in comments)."""
    d = tmp("parts")
    os.makedirs(d, exist_ok=True)
    cli("experiment", "spikes", "--n-max", 16, "--out", d, "--job", 0, "-q")
    df = load(os.path.join(d, "spikes.part-0.tsv"), ["set", "cols"] + [f"v{k}" for k in range(10)])
    ref = load(os.path.join(experiment("spikes", "--n-max", 16), "spikes.tsv"), TABLES["spikes"][""].split())
    assert list(df.loc[df["set"] == 0, "v5"]) == list(ref["height_norm"])
    cli("experiment", "robustness", "--quick", "--out", d, "--job", 1, "-q")
    df = load(os.path.join(d, "robustness.part-1.tsv"), ["kind"] + [f"c{k}" for k in range(10)])
    assert list(df["kind"].unique()) == [0, 1, 2]
    return "spikes and robustness parts"


def test_readme_tsv_snippet():
    """The README's TSV loading block, verbatim, on a bode run (its paths pointed there)."""
    import re
    import subprocess
    from common import ROOT
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = [b for b in re.findall(r"^```python\n(.*?)^```$", text, re.S | re.M) if "read_csv" in b]
    assert len(blocks) == 1, f"{len(blocks)} README blocks load a TSV"
    d = experiment("bode", *SMALL["bode"])
    code = blocks[0].replace("out/figures", d)
    p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    method, n = p.stdout.split()
    j = json.load(open(os.path.join(d, "bode.json")))
    worst = max(j["methods"], key=lambda m: m["relative_to_sup_legs"])["method"]
    assert method == worst and int(n) > 1000, p.stdout
    return f"runs; worst method {method}, {n} LegS points"
