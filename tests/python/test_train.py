"""`ssmkit train` reproduced in PyTorch (ssmkit.engine + ssmkit.torch.engine_train, examples/torch_train.py):
the dropout masks against the engine's own forward pass, and the loss curve of the CLI's --log step by
step (24 one-step epochs) and epoch by epoch (the data order), with mutations that must be caught.

Tolerance: 1e-5 relative on every train and validation loss.  Both sides compute in float32 with the
same weights, data, order and masks; they differ in rounding only (FFTW and OpenBLAS against PyTorch's
FFT and GEMM, other summation orders, the engine's AdamW in double over float moments), ~1e-7 per
step, which training amplifies slowly: measured at most 7e-7 over 24 steps and 3e-7 over 200.  One
wrong ingredient (a permutation, a mask, the schedule) moves the losses by more than 1e-3."""
import ctypes
import os
import subprocess
import sys

import numpy as np
import torch

import ssmkit
from ssmkit import _lib
from ssmkit.engine import Engine
from ssmkit.torch import EngineModel, engine_train
from common import ROOT, cli, tmp

TOL = 1e-5
lib = _lib.lib
_F = ctypes.POINTER(ctypes.c_float)


def _ptd16():
    path = tmp("train-ptd16.safetensors")
    if not os.path.exists(path):
        cli("init", "ptd", "-N", 16, "--eps", "0.1", "-o", path, "-q")
    return path


def _s5ptd16():
    """An S5-PTD init (ptd --blocks 2): the engine's S5 layer."""
    path = tmp("train-s5ptd16.safetensors")
    if not os.path.exists(path):
        cli("init", "ptd", "-N", 16, "--eps", "0.1", "--blocks", 2, "-o", path, "-q")
    return path


def _engine_loss(e, ids, step, train):
    """Mean loss of the engine's own forward pass (ssm_train_model_step) on training samples ids."""
    from ssmkit.engine import TrainModel
    m = ctypes.POINTER(TrainModel)()
    ssmkit._check(lib.ssm_train_model_create(ctypes.byref(m), ctypes.byref(e.cfg), e.L, e.din, e.n_out,
                                             1 if e.regression else 0))
    a = ctypes.c_void_p()
    ssmkit._check(lib.ssm_train_acts_create(ctypes.byref(a), m, len(ids)))
    try:
        ssmkit._check(lib.ssm_train_model_kernels(m, 0))
        x = np.ascontiguousarray(e.train_x[ids])
        y = np.ascontiguousarray(e.train_y[ids])
        cid = (ctypes.c_uint64 * len(ids))(*[int(i) for i in ids])
        correct = ctypes.c_size_t()
        s = lib.ssm_train_model_step(m, a, x.ctypes.data_as(_F), y.ctypes.data_as(_F),
                                     cid, len(ids), train, e.rng, step, None, 0, 1.0, ctypes.byref(correct), e.tol)
        return s / len(ids)
    finally:
        lib.ssm_train_acts_free(a)
        lib.ssm_train_model_free(m)


def test_dropout_masks_vs_engine():
    e = Engine("adding", init=_ptd16(), d_model=8, layers=2, n_train=64, n_val=8, n_test=8, seq_len=60,
               dropout=0.3, seed=5)
    ids, step = np.array([5, 9, 2, 11, 40]), 7
    model = EngineModel.from_engine(e)
    x, y = torch.as_tensor(e.train_x[ids]), torch.as_tensor(e.train_y[ids])
    loss = lambda masks: float(torch.nn.functional.mse_loss(model(x, masks)[:, 0], y))
    masks = [e.dropout_mask(step, ids, l) for l in range(e.K)]
    ref, ref_eval = _engine_loss(e, ids, step, 1), _engine_loss(e, ids, step, 0)
    got, got_eval = loss(masks), loss(None)
    wrong = loss([e.dropout_mask(step + 1, ids, l) for l in range(e.K)])
    d, d_eval, d_wrong = abs(got - ref) / ref, abs(got_eval - ref_eval) / ref_eval, abs(wrong - ref) / ref
    kept = float(np.mean(np.concatenate([m.ravel() for m in masks]) == 0))
    assert d <= TOL and d_eval <= TOL, (d, d_eval)
    assert d_wrong > 1e-3, d_wrong   # another step's masks: the comparison notices
    assert abs(kept - 0.3) < 0.02, kept
    return (f"training forward with the engine's masks: rel {d:.1e} (eval {d_eval:.1e}); another step's masks "
            f"{d_wrong:.1e}; {kept:.3f} of the units dropped (p = 0.3)")


def _cli_log(e, name):
    log = tmp(name)
    cli(*e.cli_args(), "--log", log, "-q")
    return np.atleast_2d(np.loadtxt(log, skiprows=1))  # the names line, then '#' comments and rows


def _diff(rows, log):
    assert len(rows) == log.shape[0], (len(rows), log.shape)
    R = np.array([[r["epoch"], r["step"], r["train_loss"], r["val_loss"]] for r in rows])
    assert np.array_equal(R[:, :2], log[:, :2])
    return float(np.max(np.abs(R[:, 2:] - log[:, [2, 4]]) / np.abs(log[:, [2, 4]])))


def test_loss_curve_per_step():
    # one step per epoch (n_train = batch): the CLI's log holds every step's loss and a validation pass
    torch.set_num_threads(1)
    e = Engine("adding", init=_ptd16(), d_model=8, layers=2, batch=16, n_train=16, n_val=32, n_test=16,
               seq_len=100, epochs=24, threads=1, seed=3)   # dropout 0.1, lr_ssm 0.001: the defaults
    log = _cli_log(e, "train-per-step.tsv")
    _, losses, rows = engine_train(e)
    d = _diff(rows, log)
    assert np.allclose(losses, [r["train_loss"] for r in rows], rtol=1e-6, atol=0)
    assert d <= TOL, d
    return f"24 steps (dropout 0.1, Λ, B, Δ training): max rel diff of 48 losses {d:.1e}; " \
           f"loss {log[0, 2]:.4f} -> {log[-1, 2]:.4f}"


def test_loss_curve_data_order_and_variants():
    torch.set_num_threads(1)
    base = dict(init=_ptd16(), d_model=8, layers=2, batch=16, n_val=32, n_test=16, seed=1)
    cases = [  # 4 steps per epoch: the per-epoch means depend on the order of the samples
        ("adding", dict(n_train=64, epochs=6, seq_len=100, threads=2, glu=True, prenorm=True)),
        ("listops", dict(n_train=64, epochs=6, seq_len=64, warmup=5)),
        ("sinusoid", dict(n_train=48, epochs=8, seq_len=80, init="s4-dplr", d_state=16, freeze_ssm=True,
                          s4_kernel="dense")),
        ("sinusoid", dict(n_train=48, epochs=8, seq_len=80, init="s4-dplr", d_state=16)),   # DPLR, Λ P B Δ trained
        ("adding", dict(n_train=64, epochs=6, seq_len=100, init=_s5ptd16(), d_state=16, prenorm=True)),  # S5
    ]
    rows_out, worst = [], 0.0
    for task, kw in cases:
        e = Engine(task, **{**base, **kw})
        log = _cli_log(e, f"train-{task}.tsv")
        _, _, rows = engine_train(e)
        d = _diff(rows, log)
        worst = max(worst, d)
        rows_out.append(f"{task}{' (S5 layer)' if e.s5 else ''} {e.total_steps} steps {d:.1e}")
    assert worst <= TOL, rows_out
    # the same run with the epochs' permutations shifted by one: the comparison notices
    e = Engine(cases[0][0], **{**base, **cases[0][1]})
    shifted = e.permutation
    e.permutation = lambda epoch: shifted(epoch + 1)
    d_wrong = _diff(engine_train(e)[2], np.atleast_2d(np.loadtxt(tmp("train-adding.tsv"), skiprows=1)))
    assert d_wrong > 1e-3, d_wrong
    return "; ".join(rows_out) + f"; wrong data order: {d_wrong:.1e}"


def test_example_torch_train():
    init = _ptd16()
    args = ["adding", "--init", init, "--d-model", "8", "--layers", "2", "--n-train", "64", "--n-val", "32",
            "--batch", "16", "--epochs", "3", "--seq-len", "50"]
    log = tmp("train-example.tsv")
    cli("train", *args, "--log", log, "-q")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "torch_train.py"), *args, "--compare", log],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0 and "within 1e-05" in p.stdout, (p.stdout[-1500:], p.stderr[-1500:])
    # an impossible tolerance makes it fail: exit 1
    q = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "torch_train.py"), *args, "--compare", log,
                        "--tol", "0"], capture_output=True, text=True, env=env, timeout=300)
    assert q.returncode == 1 and "ABOVE" in q.stdout, q.stdout[-500:]
    return p.stdout.strip().splitlines()[-1]


def test_engine_names_and_errors():
    e = Engine("adding", init="s4d-lin", d_state=8, d_model=4, layers=2, n_train=16, batch=16, n_val=4, n_test=4,
               seq_len=20)
    sd = EngineModel.from_engine(e).state_dict()
    assert list(sd) == list(e.params), (list(sd), list(e.params))   # the arena's names, in its order
    assert all(tuple(sd[k].shape) == e.params[k].shape for k in sd)
    cases = [(("nope",), {}), (("adding",), {"layers": 0}), (("adding",), {"colour": 1}),
             (("adding",), {"init": "s4d-lin", "n_train": 8, "batch": 16}), (("adding",), {"init": "nope.safetensors"})]
    for args, kw in cases:
        try:
            Engine(*args, **kw)
            raise AssertionError(f"Engine{args} {kw}: accepted")
        except ssmkit.Error as ex:
            assert ex.status == "EINVAL", (args, kw, ex.status, ex.message)
        flags = [x for k, v in kw.items() for x in ("--" + k.replace("_", "-"), str(v))]
        if "init" not in kw:
            flags += ["--init", "s4d-lin"]
        rc, _, err = cli("train", *args, *flags, "-q", check=False)
        assert rc == 2 and err.count("\n") == 1, (args, kw, rc, err)
    return f"state_dict keys = the engine's {len(sd)} arena names; {len(cases)} bad configs: EINVAL (CLI exit 2)"
