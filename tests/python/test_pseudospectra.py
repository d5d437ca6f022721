"""The pseudospectra figure's claims, checked against matrices built here with numpy (from the formula and
from init files): (a) every eigenvalue lies inside its panel's box (the EigTool box of its own spectrum);
(b) the drawn ε-boundaries are resolved: σ_min(zI − A) at points of every drawn contour, by numpy's SVD,
is within a factor 1.25 of ε; (c) the levels not drawn are the ones the data says (rounding floor)."""
import os

import numpy as np
import pandas as pd

from common import cli, experiment, tmp, read_safetensors

N = 8
# (b)'s factor: the refinement accepts a cell when σ_min at its edge midpoints and centre is within 5 % of
# the interpolation of log σ, and every drawn vertex lies on such an edge; 1.25 leaves room for the
# interpolation error between checked points and for the experiment's matrix (V Λ V⁻¹ rebuilt from the
# file) differing from A_target + E by the backward error (2.6e-15 relative at N = 8: at the lowest drawn
# level, 1000 u ‖A‖, a relative change below 2 %)
FACTOR = 1.25


def matrices():
    """The three state matrices, built independently of the experiment's code path."""
    n = np.arange(N)
    legs = np.tril(-np.sqrt(np.outer(2 * n + 1, 2 * n + 1)), -1) - np.diag(n + 1.0)
    cli("init", "s4d-legs", "-N", N, "-o", tmp("ps-s4d.safetensors"), "-q")
    cli("init", "ptd", "-N", N, "--eps", 0.05, "-o", tmp("ps-ptd.safetensors"), "-q")
    t, _ = read_safetensors(tmp("ps-s4d.safetensors"))
    lam = t["Lambda"][:, 0] + 1j * t["Lambda"][:, 1]
    s4d = np.diag(np.concatenate([lam, lam.conj()]))  # conj_sym: the conjugate modes are implied
    t, _ = read_safetensors(tmp("ps-ptd.safetensors"))
    ptd = t["A_target"] + t["E"]
    return {"legs": legs, "s4d-legs": s4d, "ptd": ptd}


SYSTEMS = ["legs", "s4d-legs", "ptd"]  # the panels table's `system` column: 0, 1, 2


def tables():
    d = experiment("pseudospectra", "--n-max", N)
    read = lambda s: pd.read_csv(os.path.join(d, f"pseudospectra{s}.tsv"), sep="\t", comment="#")
    return read("-panels"), read("-levels"), read("-contours")


def test_eigenvalues_inside_their_boxes():
    A = matrices()
    panels, _, _ = tables()
    for p in panels.itertuples():
        lam = np.linalg.eigvals(A[SYSTEMS[p.system]])
        inside = ((lam.real >= p.box_x0) & (lam.real <= p.box_x1) & (lam.imag >= p.box_y0) & (lam.imag <= p.box_y1))
        assert inside.sum() == p.eig_inside and p.eig_count == N, (p.panel, inside.sum(), p.eig_inside)
        if not p.panel.endswith("-zoom"):  # the systems' own boxes hold every mode
            assert inside.all(), f"{p.panel}: {(~inside).sum()} eigenvalues outside the box"
            # EigTool's box: the bounding box padded by half its larger side (symmetric: real spectra)
            ym = np.abs(lam.imag).max()
            pad = max(lam.real.max() - lam.real.min(), 2 * ym) / 2
            assert np.allclose([p.box_x0, p.box_x1, p.box_y0, p.box_y1],
                               [lam.real.min() - pad, lam.real.max() + pad, -ym - pad, ym + pad], rtol=1e-9, atol=1e-9)
    return "full panels: every eigenvalue inside; zooms: the counts stated"


def test_contours_resolved():
    A = matrices()
    panels, levels, cont = tables()
    worst, checked = 1.0, 0
    rng = np.random.default_rng(20261129)
    for p in panels.itertuples():
        M = A[SYSTEMS[p.system]]
        drawn = levels[(levels["panel"] == p.panel) & (levels["status"] == 0)]["level_log10"]
        assert len(drawn) > 0, p.panel
        for L in drawn:
            seg = cont[(cont["panel"] == p.panel) & (cont["level_log10"] == L)]
            assert len(seg) > 0, (p.panel, L)
            pick = rng.choice(len(seg), size=min(12, len(seg)), replace=False)
            for i in pick:
                z = seg["xa"].iloc[i] + 1j * seg["ya"].iloc[i]
                s = np.linalg.svd(z * np.eye(N) - M, compute_uv=False)[-1]
                r = s / 10.0 ** L
                worst = max(worst, r, 1 / r)
                checked += 1
                assert 1 / FACTOR <= r <= FACTOR, f"{p.panel} level 1e{L}: sigma_min {s:.4g} at {z:.6g}"
    return f"{checked} contour points by SVD: worst factor {worst:.4f} (allowed {FACTOR})"


def test_levels_not_drawn_are_below_the_floor():
    panels, levels, _ = tables()
    for p in panels.itertuples():
        lv = levels[levels["panel"] == p.panel]
        floor = lv[lv["status"] == 1]["level_log10"]
        assert (10.0 ** floor < p.level_floor).all() and (10.0 ** lv[lv["status"] != 1]["level_log10"] >= p.level_floor).all()
        assert (lv["status"] != 3).all(), f"{p.panel}: unresolved levels {list(lv[lv['status'] == 3]['level_log10'])}"
        assert p.worst_ratio <= p.accept_ratio and p.accept_ratio == 1.05
    return "floors and statuses consistent; nothing unresolved at N = 8"
