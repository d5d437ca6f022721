"""Checkpoints of `ssmkit train --checkpoint DIR` in Python and PyTorch (ssmkit.load_checkpoint,
EngineModel.from_checkpoint, engine_train(resume=...)), against the file's bytes and the CLI.

(a) Parameters and AdamW moments equal the file's arenas bit for bit: the test reads the file itself
    (layout of train/checkpoint.c: u32 JSON length at byte 12, the JSON header from byte 24, then
    params, adam_m, adam_v as float32 LE), independently of the package, which goes through the
    library's reader.
(b) EngineModel.from_checkpoint's test loss equals `ssmkit eval DIR --json`'s to 1e-6 relative: one
    float32 forward pass on identical weights and data, differing only by summation order (FFTW and
    OpenBLAS against PyTorch's FFT and GEMM; the per-batch losses accumulated in double on both sides), a few
    float32 ulps (6e-8) per layer; measured 2.1e-8 (listops, GLU, pre-norm; adding on the dense
    s4-dplr path; adding on the trained DPLR kernel; adding with the S5 layer, there the MIMO impulse
    response and an FFT against the engine's recurrence).  Accuracy is required equal: every
    sample's top-two logits (or |prediction - target| against tol) are checked to be further apart
    than 1e-4, so no decision can flip at that rounding.
(c) A corrupted checkpoint raises ssmkit.Error with the C reader's message (the one `ssmkit eval`
    prints), also when the checksum is recomputed over an edited parameter.
(e) `ssmkit export` (test_export): the file, read here with its own few lines (safetensors: u64 header
    length, JSON header, F64 data), holds every arena tensor under PyTorch's name, nn.Linear weights as
    [out, in] (torch.nn.Linear(din, H).load_state_dict takes encoder.weight/bias as they are and computes
    the engine's encoder), complex as (re, im), values equal to the checkpoint's float32s; load_checkpoint
    and `ssmkit eval` read it back with the checkpoint's parameters and losses.
(d) Training continued in PyTorch from a checkpoint (its weights, AdamW moments and step) matches the
    engine's uninterrupted run to 1e-5 relative (test_train.py's tolerance and reason); restarted with
    zeroed moments it does not (moves the losses by more than 1e-3)."""
import ctypes
import json
import os
import shutil
import struct

import numpy as np
import torch

import ssmkit
from ssmkit import _lib
from ssmkit.engine import Engine
from ssmkit.torch import EngineModel, engine_evaluate, engine_train
from common import cli, cli_json, read_tsv, tmp

EVAL_TOL, TRAIN_TOL, MARGIN = 1e-6, 1e-5, 1e-4


def _init(method, N):
    path = tmp(f"ckpt-{method}{N}.safetensors")
    if not os.path.exists(path):
        cli("init", method, "-N", N, *(["--eps", "0.1"] if method == "ptd" else []), "-o", path, "-q")
    return path


def _run(name, *args):
    """`ssmkit train ARGS --checkpoint DIR` (once per name); returns DIR."""
    d = tmp("ckpt-" + name)
    if not os.path.exists(os.path.join(d, "ckpt.bin")):
        cli("train", *args, "--checkpoint", d, "-q")
    return d


def _listops():
    return _run("listops", "listops", "--init", _init("ptd", 16), "--d-model", 8, "--layers", 2, "--glu", "--prenorm",
                "--n-train", 128, "--n-test", 256, "--batch", 16, "--epochs", 2, "--seq-len", 64, "--dropout", 0.1)


def _dense():
    return _run("dense", "adding", "--init", _init("s4-dplr", 8), "--d-model", 8, "--layers", 2, "--n-train", 64,
                "--n-test", 128, "--batch", 16, "--epochs", 2, "--seq-len", 48, "--freeze-ssm", "--s4-kernel", "dense")


def _dplr():
    return _run("dplr", "adding", "--init", _init("s4-dplr", 8), "--d-model", 8, "--layers", 2, "--n-train", 64,
                "--n-test", 128, "--batch", 16, "--epochs", 2, "--seq-len", 48)


def _s5():
    """The S5 layer (an S5-PTD file: ptd --blocks 2), Λ, B̃, Δ training."""
    path = tmp("ckpt-s5ptd16.safetensors")
    if not os.path.exists(path):
        cli("init", "ptd", "-N", 16, "--eps", "0.1", "--blocks", 2, "-o", path, "-q")
    return _run("s5", "adding", "--init", path, "--d-model", 8, "--layers", 2, "--n-train", 64, "--n-test", 128,
                "--batch", 16, "--epochs", 2, "--seq-len", 48)


def _file_arenas(path):
    """{name: (params, m, v)} float32 arrays straight from the file's bytes, and the JSON header."""
    raw = open(path, "rb").read()
    assert raw[:8] == b"SSMKTRN\0" and struct.unpack_from("<I", raw, 8)[0] == 2
    hl = struct.unpack_from("<I", raw, 12)[0]
    hdr = json.loads(raw[24:24 + hl])
    n = hdr["n_params"]
    a = np.frombuffer(raw, dtype="<f4", offset=24 + hl).reshape(3, n)
    return {t["name"]: tuple(a[k, t["offset"]:t["offset"] + t["count"]] for k in range(3))
            for t in hdr["tensors"]}, hdr


def test_parameters_bit_for_bit():
    checked = 0
    for d in (_listops(), _dense(), _dplr(), _s5()):
        ck = ssmkit.load_checkpoint(d)
        arenas, hdr = _file_arenas(os.path.join(d, "ckpt.bin"))
        assert list(ck.params) == list(arenas), (list(ck.params), list(arenas))
        for name, (p, m, v) in arenas.items():
            for ours, theirs in ((ck.params[name], p), (ck.exp_avg[name], m), (ck.exp_avg_sq[name], v)):
                assert ours.dtype == np.float32 and ours.tobytes() == theirs.astype(np.float32).tobytes(), name
                checked += ours.size
        assert ck.step == hdr["step"] == ck.total_steps and ck.rng == int(hdr["rng"]), (ck.step, hdr["step"])
        assert [r["step"] for r in ck.rows] == [r[1] for r in hdr["rows"]]
        assert [r["train_loss"] for r in ck.rows] == [r[2] for r in hdr["rows"]]
        c = hdr["config"]
        assert ck.task == c["task"] and ck.options["d_model"] == c["d_model"] and ck.options["glu"] == bool(c["glu"])
        assert ck.options["n_test"] == c["n_test"] and ck.options["seed"] == int(c["seed"])
        # the model's trainable state moved away from the init: not the engine's step-0 weights
        e = Engine(ck.task, **ck.options)
        assert not np.array_equal(e.params["decoder.weight"], ck.params["decoder.weight"])
        assert any(np.abs(m).max() > 0 for m in ck.exp_avg.values())
    return f"{checked} floats (parameters and both moments, four runs: listops, dense and DPLR s4-dplr, S5) equal the file's bytes"


def _decisions_are_clear(model, ck):
    """No test sample's decision is within MARGIN of flipping (so float32 rounding cannot flip it)."""
    with torch.no_grad():
        out = model(torch.as_tensor(ck.test_x)).double().numpy()
    if ck.regression:
        gap = np.abs(np.abs(out[:, 0] - ck.test_y) - ck.tol)
    else:
        top = np.sort(out, axis=1)
        gap = top[:, -1] - top[:, -2]
    return gap.min()


def test_eval_matches_cli():
    worst, notes = 0.0, []
    for d in (_listops(), _dense(), _dplr(), _s5()):
        ck = ssmkit.load_checkpoint(d, data=True)
        model = EngineModel.from_checkpoint(d)
        for name, p in model.named_parameters():
            assert p.detach().numpy().tobytes() == ck.params[name].tobytes(), name
        loss, acc = engine_evaluate(model, ck, ck.test_x, ck.test_y)
        ref = cli_json("eval", d, "--json")["clean"]
        rel = abs(loss - ref["loss"]) / abs(ref["loss"])
        assert rel <= EVAL_TOL, (d, loss, ref["loss"], rel)
        gap = _decisions_are_clear(model, ck)
        assert gap > MARGIN, (d, gap)
        assert acc == ref["acc"], (d, acc, ref["acc"])
        worst = max(worst, rel)
        notes.append(f"{ck.task}{' dense' if ck.dense else ' dplr' if ck.dplr else ' S5' if ck.s5 else ''} loss {loss:.6f} acc {acc:.4f}")
    return f"{'; '.join(notes)}; worst relative loss difference {worst:.2e} (required {EVAL_TOL:g})"


def _error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except ssmkit.Error as err:
        return err
    raise AssertionError(f"{fn.__name__} accepted a bad checkpoint")


def test_corrupted_checkpoint():
    src = os.path.join(_listops(), "ckpt.bin")
    bad = tmp("ckpt-corrupt")
    os.makedirs(bad, exist_ok=True)
    path = os.path.join(bad, "ckpt.bin")
    raw = bytearray(open(src, "rb").read())
    raw[-100] ^= 0x04                                    # one bit in the AdamW moments
    open(path, "wb").write(raw)
    checks = []
    err = _error_of(ssmkit.load_checkpoint, bad)
    rc, _, stderr = cli("eval", bad, check=False)
    assert rc == 2 and err.status == "EFORMAT" and "checksum mismatch" in err.message, (rc, err)
    assert stderr.strip() == f"ssmkit: {err.message}", (stderr, err.message)
    checks.append("flipped bit")
    # a parameter set to NaN with the checksum recomputed: the arena check names it
    arenas, hdr = _file_arenas(src)
    hl = struct.unpack_from("<I", raw, 12)[0]
    raw = bytearray(open(src, "rb").read())
    struct.pack_into("<f", raw, 24 + hl + 4 * hdr["tensors"][0]["offset"], float("nan"))
    lib = _lib.lib
    lib.ssm_train_checkpoint_checksum.restype = ctypes.c_uint64
    lib.ssm_train_checkpoint_checksum.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    struct.pack_into("<Q", raw, 16, lib.ssm_train_checkpoint_checksum(bytes(raw), len(raw)))
    open(path, "wb").write(raw)
    err = _error_of(EngineModel.from_checkpoint, path)
    rc, _, stderr = cli("eval", path, check=False)
    assert rc == 2 and err.status == "EFORMAT" and "encoder.weight[0] is not finite" in err.message, (rc, err)
    assert stderr.strip() == f"ssmkit: {err.message}", (stderr, err.message)
    checks.append("NaN parameter under a valid checksum")
    err = _error_of(ssmkit.load_checkpoint, tmp("ckpt-none"))
    assert err.status == "EIO" and "ckpt-none" in err.message, err
    checks.append("missing file (EIO)")
    shutil.rmtree(bad)
    return "; ".join(checks) + ": ssmkit.Error with the reader's message, = `ssmkit eval`'s line"


def test_resume_in_pytorch():
    """3 one-step epochs in C, 3 more in PyTorch from the checkpoint, against 6 in C (warm-up 20 > 6
    steps: the schedule does not depend on the planned total, so both runs take the same steps)."""
    args = ["adding", "--init", _init("ptd", 16), "--d-model", 8, "--layers", 2, "--n-train", 16, "--batch", 16,
            "--seq-len", 60, "--warmup", 20, "--dropout", 0.1, "--threads", 1]
    d3 = _run("resume3", *args, "--epochs", 3)
    log = tmp("ckpt-resume6.tsv")
    cli("train", *args, "--epochs", 6, "--log", log, "-q")
    tab = read_tsv(log)                    # epoch step train_loss train_acc val_loss val_acc time_s samples_per_s
    ref = {"train_loss": tab[:, 2], "val_loss": tab[:, 4]}
    ck = ssmkit.load_checkpoint(d3)
    e = Engine(ck.task, **dict(ck.options, epochs=6))
    _, losses, rows = engine_train(e, resume=ck)
    assert len(losses) == 3 and [r["step"] for r in rows] == list(range(1, 7)), rows
    worst = 0.0
    for k, r in enumerate(rows):
        for key in ("train_loss", "val_loss"):
            rel = abs(r[key] - ref[key][k]) / abs(ref[key][k])
            worst = max(worst, rel)
            assert rel <= TRAIN_TOL, (k, key, r[key], ref[key][k])
    # the moments matter: the same restart without them is another run
    _, _, rows0 = _restart_without_moments(e, ck)
    off = max(abs(a["train_loss"] - b) / b for a, b in zip(rows0[3:], ref["train_loss"][3:]))
    assert off > 1e-3, off
    err = _error_of(engine_train, Engine(ck.task, **dict(ck.options, epochs=6, lr=0.02)), resume=ck)
    assert err.status == "EINVAL" and "lr" in err.message, err
    return f"steps 4-6 in PyTorch vs the engine: worst relative loss difference {worst:.2e} " \
           f"(required {TRAIN_TOL:g}); " \
           f"without the moments {off:.2e}"


def _restart_without_moments(engine, ck):
    """engine_train from the checkpoint's weights, step and sums but zero AdamW moments (a mutation)."""
    class _NoMoments:
        pass
    m = _NoMoments()
    m.__dict__.update(ck.__dict__)
    m.exp_avg = {k: np.zeros_like(v) for k, v in ck.exp_avg.items()}
    m.exp_avg_sq = {k: np.zeros_like(v) for k, v in ck.exp_avg_sq.items()}
    m.__class__ = type(ck)
    return engine_train(engine, resume=m)


def _read_safetensors(path):
    """{name: float64 array} and the metadata of a safetensors file (F64 only), read here."""
    raw = open(path, "rb").read()
    n = struct.unpack_from("<Q", raw, 0)[0]
    hdr = json.loads(raw[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    out = {}
    for name, t in hdr.items():
        assert t["dtype"] == "F64", (name, t["dtype"])
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f8").reshape(t["shape"]).copy()
    return out, meta


def _torch_name(arena):
    """The export's name of an arena tensor (README: ssmkit export)."""
    if not arena.startswith("layers."):
        return arena
    pre, rest = arena.split(".", 2)[:2], arena.split(".", 2)[2]
    rest = {"ssm.D": "D"}.get(rest, rest.replace("ssm.", "kernel.", 1).replace("out.", "output_linear.", 1))
    return ".".join(pre) + "." + rest


def test_export():
    notes = []
    for d in (_listops(), _dense(), _dplr(), _s5()):
        out = tmp(f"export-{os.path.basename(d)}.safetensors")
        cli("export", d, "-o", out)
        ck = ssmkit.load_checkpoint(d)
        tensors, meta = _read_safetensors(out)
        assert meta["format"] == "ssmkit-model/1" and json.loads(meta["config"])["d_model"] == ck.H, meta
        assert sorted(tensors) == sorted(_torch_name(n) for n in ck.params), sorted(tensors)
        for name, p in ck.params.items():
            t = tensors[_torch_name(name)]
            want = p.T if name.endswith(("encoder.weight", "decoder.weight", "out.weight")) else p
            assert t.shape == want.shape and np.array_equal(t, want.astype(np.float64)), name
        # PyTorch's own Linear takes the exported encoder as it is, and computes the engine's encoder
        lin = torch.nn.Linear(ck.din, ck.H, dtype=torch.float64)
        lin.load_state_dict({"weight": torch.as_tensor(tensors["encoder.weight"]),
                             "bias": torch.as_tensor(tensors["encoder.bias"])})
        x = np.random.default_rng(1).standard_normal((5, ck.din))
        ref = x @ ck.params["encoder.weight"].astype(np.float64) + ck.params["encoder.bias"]
        assert np.allclose(lin(torch.as_tensor(x)).detach().numpy(), ref, rtol=1e-14, atol=1e-14)
        # read back: the same model (parameters bit for bit) and the same evaluation
        back = ssmkit.load_checkpoint(out)
        assert back.exp_avg is None and back.step == ck.step
        for name, p in ck.params.items():
            assert back.params[name].tobytes() == p.tobytes(), name
        a, b = cli_json("eval", d, "--json")["clean"], cli_json("eval", out, "--json")["clean"]
        assert a == b, (a, b)
        kind = " dense" if ck.dense else " dplr" if ck.dplr else " S5" if ck.s5 else ""
        notes.append(f"{ck.task}{kind}: {len(tensors)} tensors, eval loss {b['loss']:.6f}")
    ck = ssmkit.load_checkpoint(tmp(f"export-{os.path.basename(_listops())}.safetensors"))
    err = _error_of(engine_train, Engine(ck.task, **dict(ck.options, epochs=4)), resume=ck)
    assert err.status == "EINVAL" and "without optimiser state" in err.message, err
    err = _error_of(ssmkit.load_checkpoint, _init("ptd", 16))
    assert err.status == "EFORMAT" and "not an exported ssmkit model" in err.message, err
    return "; ".join(notes) + "; an export offered to engine_train(resume=) and an init file offered as a model refused"
