"""ssmkit.engine — the run `ssmkit train` makes, as data for another framework (numpy; no torch here).

    e = ssmkit.engine.Engine("adding", init="ptd.safetensors", d_model=16, layers=2, batch=16, seed=0)
    e.params                 # {arena name: float32 array}: the engine's initial weights for this seed
    e.train_x, e.train_y     # the task's data, exactly the floats the engine trains on
    for step, epoch, idx in e.batches(): ...   # the engine's data order (its per-epoch permutation)
    e.lr_scale(step)         # the schedule factor (linear warm-up, cosine decay)
    e.dropout_mask(step, idx, layer)           # the engine's dropout mask [B, L, H] (counter-based streams)
    e.cli_args()             # the `ssmkit train` arguments of the same run

    ck = ssmkit.engine.load_checkpoint("run")  # a `--checkpoint DIR` (or DIR/ckpt.bin), read and validated
    ck.params, ck.exp_avg, ck.exp_avg_sq       # {arena name: float32 array}: weights and AdamW moments
    ck.options, ck.step, ck.rows               # the run's options (Engine(ck.task, **ck.options)), progress, log

Options take the names of `ssmkit train`'s flags (d_model, d_state, layers, glu, prenorm, dropout,
dt_min, dt_max, lr, lr_ssm, freeze_ssm, wd, clip, warmup, epochs, steps, batch, threads, seed, seq_len,
n_train, n_val, n_test, data, init, eps) with the CLI's defaults.  Everything comes from libssmkit
itself (ssm_train_config_check, ssm_train_data_load, ssm_train_model_create, ssm_train_stream), so a
framework that follows these arrays and the update rule of doc/design.md (AdamW, β = 0.9, 0.999,
ε = 1e-8, decoupled decay on weights and C, the global-norm clip) trains the engine's model."""
import ctypes
import os

import numpy as np

from ._lib import lib
from ._util import _check, _usage

__all__ = ["Engine", "Checkpoint", "load_checkpoint", "config", "TASKS"]

TASKS = ["sfmnist", "adding", "listops", "sinusoid"]
_Z, _D, _I, _F = ctypes.c_size_t, ctypes.c_double, ctypes.c_int, ctypes.POINTER(ctypes.c_float)
DECAY, NODECAY, SSM = 0, 1, 2   # the arena's optimiser groups (SSM_TRAIN_DECAY, _NODECAY, _SSM)


class TrainConfig(ctypes.Structure):
    """ssm_train_config (train/train.h)."""
    _fields_ = [("task", _I), ("seq_len", _Z), ("n_train", _Z), ("n_val", _Z), ("n_test", _Z),
                ("data_dir", ctypes.c_char * 512), ("init", ctypes.c_char * 512), ("init_eps", _D),
                ("d_model", _Z), ("d_state", _Z), ("n_layers", _Z), ("glu", _I), ("prenorm", _I),
                ("dropout", _D), ("dt_min", _D), ("dt_max", _D), ("lr", _D), ("lr_ssm", _D), ("wd", _D), ("clip", _D),
                ("epochs", _Z), ("max_steps", _Z), ("batch", _Z), ("warmup", _Z), ("threads", _Z), ("ckpt_every", _Z),
                ("seed", ctypes.c_uint64), ("s4_dense", _I)]


class TrainSplit(ctypes.Structure):
    _fields_ = [("n", _Z), ("L", _Z), ("din", _Z), ("x", _F), ("xb", ctypes.POINTER(ctypes.c_uint8)),
                ("xscale", ctypes.c_float), ("xshift", ctypes.c_float), ("y", _F), ("freq", _F)]


class TrainData(ctypes.Structure):
    _fields_ = [("train", TrainSplit), ("val", TrainSplit), ("test", TrainSplit), ("n_out", _Z),
                ("regression", _I), ("tol", _D)]


class TrainTensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 40), ("offset", _Z), ("count", _Z), ("group", _I)]


class TrainModel(ctypes.Structure):
    """The leading fields of ssm_train_model (train/train.h), as far as they are read here."""
    _fields_ = [(n, _Z) for n in ("L", "din", "H", "N", "M", "K", "nout", "Hout")] + \
        [(n, _I) for n in ("glu", "prenorm", "dense", "regression")] + \
        [("dropout", ctypes.c_float), ("n_params", _Z), ("params", _F), ("grads", _F),
         ("tensors", TrainTensor * (4 + 10 * 16)), ("n_tensors", _Z)] + \
        [(n, _Z) for n in ("enc_w", "enc_b", "dec_w", "dec_b")] + \
        [("layer", (_Z * 10) * 16), ("conv", ctypes.c_void_p), ("ws", ctypes.c_void_p), ("nfreq", _Z),
         ("kernel", _F), ("kernel_f", _F), ("dkernel", ctypes.POINTER(_D)),
         ("dense_A", ctypes.POINTER(_D)), ("dense_B", ctypes.POINTER(_D)), ("basis", ctypes.POINTER(_D)),
         ("init_digest", ctypes.c_uint64), ("s5", _I), ("train_ssm", _I), ("s5_W", _F), ("s5_Ct", _F),
         ("s5_zq", ctypes.POINTER(_D)), ("dplr", _I)]


class TrainEpochRow(ctypes.Structure):
    """ssm_train_epoch_row (train/train.h): one row of the per-epoch log."""
    _fields_ = [(n, _D) for n in ("epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "time_s",
                                  "samples_per_s")]


MAX_EPOCHS = 1000   # SSM_TRAIN_MAX_EPOCHS


class TrainState(ctypes.Structure):
    """The leading fields of ssm_train_state (train/train.h), as far as they are read here (the run
    buffers after elapsed_s are not)."""
    _fields_ = [("cfg", TrainConfig), ("data", TrainData), ("model", ctypes.POINTER(TrainModel)),
                ("adam_m", _F), ("adam_v", _F)] + \
        [(n, ctypes.c_uint64) for n in ("step", "total_steps", "rng")] + [("ep_loss", _D), ("ep_time", _D)] + \
        [(n, ctypes.c_uint64) for n in ("ep_correct", "ep_count")] + \
        [("n_rows", _Z), ("rows", TrainEpochRow * MAX_EPOCHS), ("elapsed_s", _D)]


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)


_decl("ssm_train_config_default", None, ctypes.POINTER(TrainConfig))
_decl("ssm_train_config_check", _I, ctypes.POINTER(TrainConfig))
_decl("ssm_train_task_lookup", _I, ctypes.POINTER(_I), ctypes.c_char_p)
_decl("ssm_train_data_load", _I, ctypes.POINTER(TrainData), ctypes.POINTER(TrainConfig))
_decl("ssm_train_data_free", None, ctypes.POINTER(TrainData))
_decl("ssm_train_split_gather", None, _F, _F, ctypes.POINTER(TrainSplit), ctypes.POINTER(_Z), _Z)
_decl("ssm_train_model_create", _I, ctypes.POINTER(ctypes.POINTER(TrainModel)), ctypes.POINTER(TrainConfig), _Z, _Z,
      _Z, _I)
_decl("ssm_train_model_free", None, ctypes.POINTER(TrainModel))
_decl("ssm_train_model_tensor", ctypes.POINTER(TrainTensor), ctypes.POINTER(TrainModel), ctypes.c_char_p)
_decl("ssm_train_model_kernels", _I, ctypes.POINTER(TrainModel), _I)
_decl("ssm_train_acts_create", ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(TrainModel), _Z)
_decl("ssm_train_acts_free", None, ctypes.c_void_p)
_decl("ssm_train_model_step", _D, ctypes.POINTER(TrainModel), ctypes.c_void_p, _F, _F, ctypes.POINTER(ctypes.c_uint64),
      _Z, _I, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, _I, ctypes.c_float, ctypes.POINTER(_Z), _D)
_decl("ssm_train_checkpoint_open", _I, ctypes.POINTER(ctypes.POINTER(TrainState)), ctypes.c_char_p, _I)
_decl("ssm_train_state_free", None, ctypes.POINTER(TrainState))
_decl("ssm_train_export_open", _I, ctypes.POINTER(ctypes.POINTER(TrainState)), ctypes.c_char_p, _I)
_decl("ssm_train_task_name", ctypes.c_char_p, _I)
_decl("ssm_train_stream", ctypes.c_uint64, *[ctypes.c_uint64] * 4)
_decl("ssm_train_uniform", _D, ctypes.POINTER(ctypes.c_uint64))
_decl("ssm_train_lr_at", _D, _D, _Z, _Z, _Z)

# CLI flag (underscored) -> (config field, kind)
_OPTIONS = {"init": ("init", "str"), "eps": ("init_eps", float), "d_model": ("d_model", int),
            "d_state": ("d_state", int), "layers": ("n_layers", int), "glu": ("glu", bool),
            "prenorm": ("prenorm", bool), "dropout": ("dropout", float), "dt_min": ("dt_min", float),
            "dt_max": ("dt_max", float), "lr": ("lr", float), "lr_ssm": ("lr_ssm", float), "wd": ("wd", float),
            "clip": ("clip", float), "warmup": ("warmup", int), "epochs": ("epochs", int), "steps": ("max_steps", int),
            "batch": ("batch", int), "threads": ("threads", int), "seed": ("seed", int), "seq_len": ("seq_len", int),
            "n_train": ("n_train", int), "n_val": ("n_val", int), "n_test": ("n_test", int),
            "data": ("data_dir", "str"), "s4_kernel": ("s4_dense", "s4k")}


def config(task, **options):
    """The ssm_train_config of `ssmkit train TASK --flag value ...` (flags as keyword arguments, dashes
    as underscores; freeze_ssm=True is --freeze-ssm), checked by the library (ssmkit.Error EINVAL)."""
    c = TrainConfig()
    lib.ssm_train_config_default(ctypes.byref(c))
    t = ctypes.c_int()
    _check(lib.ssm_train_task_lookup(ctypes.byref(t), str(task).encode()))
    c.task = t.value
    for k, v in options.items():
        if k == "freeze_ssm":
            if v:
                c.lr_ssm = 0.0
            continue
        if k not in _OPTIONS:
            _usage(f"train: unknown option '{k}' (one of: {', '.join(sorted(_OPTIONS))}, freeze_ssm)")
        field, kind = _OPTIONS[k]
        if kind == "s4k":
            if v not in ("dplr", "dense"):
                _usage(f"train: --s4-kernel must be dplr or dense, got {v!r}")
            c.s4_dense = 1 if v == "dense" else 0
        elif kind == "str":
            b = os.fsencode(v)
            if len(b) >= 512:
                _usage(f"train: --{k.replace('_', '-')} path is too long")
            setattr(c, field, b)
        elif kind is bool:
            setattr(c, field, 1 if v else 0)
        else:
            setattr(c, field, kind(v))
    _check(lib.ssm_train_config_check(ctypes.byref(c)))
    return c


def _split_arrays(s):
    """x [n, L, din] and y [n] float32, gathered by the engine's own ssm_train_split_gather."""
    n = s.n
    x = np.zeros((n, s.L, s.din), np.float32)
    y = np.zeros(n, np.float32)
    if n:
        idx = (_Z * n)(*range(n))
        lib.ssm_train_split_gather(x.ctypes.data_as(_F), y.ctypes.data_as(_F), ctypes.byref(s), idx, n)
    return x, y


_GAMMA, _C1, _C2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _splitmix_draws(states, count):
    """The first `count` outputs of splitmix64 streams (ssm_train_rand) from each state in `states`:
    draw k (1-based) is mix(state + k·γ), so every draw is computed at once.  [len(states), count]."""
    s = np.asarray(states, dtype=np.uint64)[:, None]
    with np.errstate(over="ignore"):
        z = s + _GAMMA * np.arange(1, count + 1, dtype=np.uint64)[None, :]
        z = (z ^ (z >> np.uint64(30))) * _C1
        z = (z ^ (z >> np.uint64(27))) * _C2
    return z ^ (z >> np.uint64(31))


def _shape(run, name):
    """The shape of arena tensor `name` in a model with the dimensions of `run` (Engine, Checkpoint)."""
    H, M, N, Ho = run.H, run.M, run.N, run.Hout
    last = name.split(".", 2)[2] if name.startswith("layers.") else name
    if run.s5 and last in ("ssm.Lambda", "ssm.B", "ssm.C", "ssm.log_step"):   # the S5 layer: S5's shapes
        return {"ssm.Lambda": (M, 2), "ssm.B": (M, H, 2), "ssm.C": (H, M, 2), "ssm.log_step": (M,)}[last]
    return {"encoder.weight": (run.din, H), "encoder.bias": (H,), "decoder.weight": (H, run.nout),
            "decoder.bias": (run.nout,), "ssm.Lambda": (H, M, 2), "ssm.P": (H, M, 2), "ssm.B": (H, M, 2),
            "ssm.C": (H, N) if run.dense else (H, M, 2), "ssm.log_dt": (H,), "ssm.D": (H,),
            "out.weight": (H, Ho), "out.bias": (Ho,), "norm.weight": (H,), "norm.bias": (H,)}[last]


def _arena(run, mm, ptr):
    """{name: float32 array} of an arena laid out as the model mm's (parameters or a moment), copied."""
    a = np.ctypeslib.as_array(ptr, shape=(mm.n_params,))
    return {t.name.decode(): a[t.offset:t.offset + t.count].copy().reshape(_shape(run, t.name.decode()))
            for t in mm.tensors[:mm.n_tensors]}


def _read_model(run, mm):
    """Copy a library model's shapes, parameters (run.params), groups and dense system onto `run`."""
    for k in ("L", "din", "H", "N", "M", "K", "nout", "Hout"):
        setattr(run, k, int(getattr(mm, k)))
    run.glu, run.prenorm, run.dense, run.dplr = bool(mm.glu), bool(mm.prenorm), bool(mm.dense), bool(mm.dplr)
    run.s5 = any(t.name.decode().endswith(".ssm.log_step") for t in mm.tensors[:mm.n_tensors])   # an S5 init
    run.dropout = np.float32(mm.dropout)
    run.params = _arena(run, mm, mm.params)
    run.groups = {t.name.decode(): t.group for t in mm.tensors[:mm.n_tensors]}
    N = run.N
    run.dense_A = np.ctypeslib.as_array(mm.dense_A, shape=(N * N,)).copy().reshape(N, N) if run.dense else None
    run.dense_B = np.ctypeslib.as_array(mm.dense_B, shape=(N,)).copy() if run.dense else None


class Engine:
    """One `ssmkit train` run as data (see the module doc).  Attributes: cfg (TrainConfig), options
    (as given), the splits train_x/train_y, val_x/val_y, test_x/test_y (float32), n_out, regression,
    tol; the model's shapes L, din, H, N, M, K, nout, Hout, glu, prenorm, dense, dplr, s5, dropout (float32);
    params {name: float32 array shaped as below}, groups {name: DECAY | NODECAY | SSM}, dense_A,
    dense_B (float64, the s4-dplr path); rng (the run's stream base), spe, total_steps.

    Shapes: encoder.weight [din, H] (x @ W + b), encoder.bias [H]; layers.l.ssm.Lambda, .B, .C [H, M, 2]
    (DPLR path: also .P [H, M, 2]; dense path: C [H, N] only), .log_dt [H], .D [H] (the S5 layer, s5:
    .Lambda [M, 2], .B [M, H, 2], .C [H, M, 2], .log_step [M], .D [H]); layers.l.out.weight [H, Hout], .bias [Hout];
    layers.l.norm.weight, .bias [H]; decoder.weight [H, nout], decoder.bias [nout]."""

    def __init__(self, task, **options):
        self.task, self.options = task, dict(options)
        self.cfg = cfg = config(task, **options)
        self._load_data()
        if self.train_x.shape[0] < cfg.batch:
            _usage(f"{self.train_x.shape[0]} training samples are fewer than one batch ({cfg.batch})")
        self._load_model()
        self.rng = lib.ssm_train_stream(cfg.seed, 0x7a1d, 0, 0)
        self.spe = self.train_x.shape[0] // cfg.batch
        total = self.spe * cfg.epochs
        self.total_steps = cfg.max_steps if cfg.max_steps and cfg.max_steps < total else total

    def _load_data(self):
        d = TrainData()
        try:
            _check(lib.ssm_train_data_load(ctypes.byref(d), ctypes.byref(self.cfg)))
            self.train_x, self.train_y = _split_arrays(d.train)
            self.val_x, self.val_y = _split_arrays(d.val)
            self.test_x, self.test_y = _split_arrays(d.test)
            self.n_out, self.regression, self.tol = d.n_out, bool(d.regression), d.tol
        finally:
            lib.ssm_train_data_free(ctypes.byref(d))

    def _load_model(self):
        m = ctypes.POINTER(TrainModel)()
        L, din = self.train_x.shape[1], self.train_x.shape[2]
        _check(lib.ssm_train_model_create(ctypes.byref(m), ctypes.byref(self.cfg), L, din, self.n_out,
                                          1 if self.regression else 0))
        try:
            _read_model(self, m.contents)
        finally:
            lib.ssm_train_model_free(m)

    # ---- the run's order and randomness --------------------------------------------------------------

    def permutation(self, epoch):
        """The engine's shuffle of the training split for `epoch` (Fisher–Yates from the stream
        (rng, 0x5417, epoch, 0)), as train/engine.c's permutation()."""
        n = self.train_x.shape[0]
        perm = list(range(n))
        r = ctypes.c_uint64(lib.ssm_train_stream(self.rng, 0x5417, epoch, 0))
        for i in range(n, 1, -1):
            j = int(lib.ssm_train_uniform(ctypes.byref(r)) * i)   # (size_t)(u * i), u in [0, 1)
            perm[i - 1], perm[j] = perm[j], perm[i - 1]
        return np.array(perm, dtype=np.int64)

    def batches(self):
        """(step, epoch, idx) for every step of the run: idx = the batch's training-sample indices,
        which are also the sample ids of the dropout streams."""
        perm, perm_epoch, B = None, None, self.cfg.batch
        for step in range(self.total_steps):
            epoch, i = divmod(step, self.spe)
            if epoch != perm_epoch:
                perm, perm_epoch = self.permutation(epoch), epoch
            yield step, epoch, perm[i * B:(i + 1) * B]

    def lr_scale(self, step):
        """The schedule factor at `step` (0-based): ssm_train_lr_at(1, step, total_steps, warmup)."""
        return lib.ssm_train_lr_at(1.0, step, self.total_steps, self.cfg.warmup)

    def dropout_mask(self, step, ids, layer):
        """The engine's dropout mask [B, L, H] float32 for training step `step`, samples `ids`, layer
        `layer`: 0 or 1/(1 − p), from the stream (rng, step, id, 1000 + layer), two 24-bit draws per
        64-bit word (train/model.c).  None when dropout is 0."""
        if not self.dropout > 0:
            return None
        LH = self.L * self.H
        states = [lib.ssm_train_stream(self.rng, step, int(i), 1000 + layer) for i in ids]
        bits = _splitmix_draws(states, (LH + 1) // 2)                            # [B, ceil(LH/2)]
        hi = (bits >> np.uint64(40)).astype(np.uint32)
        lo = ((bits >> np.uint64(8)) & np.uint64(0xFFFFFF)).astype(np.uint32)
        r24 = np.stack([hi, lo], axis=-1).reshape(len(states), -1)[:, :LH]     # element i: draw i//2, half i%2
        thr = np.uint32(int(float(self.dropout) * 16777216.0))
        keep = np.float32(1.0) / (np.float32(1.0) - self.dropout)
        return np.where(r24 < thr, np.float32(0.0), keep).astype(np.float32).reshape(len(states), self.L, self.H)

    def cli_args(self):
        """`ssmkit train` arguments (after the binary) for the same run."""
        out = ["train", self.task]
        for k, v in self.options.items():
            flag = "--" + k.replace("_", "-")
            if k in ("glu", "prenorm", "freeze_ssm"):
                out += [flag] if v else []
            else:
                out += [flag, str(v)]
        return out


# ---- checkpoints -------------------------------------------------------------------------------------

def _options(cfg):
    """The `ssmkit train` options (Engine's keywords) of a checked config: Engine(task, **options) is the run."""
    out = {}
    for k, (field, kind) in _OPTIONS.items():
        v = getattr(cfg, field)
        out[k] = os.fsdecode(v) if kind == "str" else ("dense" if v else "dplr") if kind == "s4k" else kind(v)
    return out


class Checkpoint:
    """A checkpoint of `ssmkit train --checkpoint DIR`, read and validated by the library
    (ssm_train_checkpoint_read: checksum, header, counters, tensor table, init digest, finite parameters,
    possible AdamW moments); everything is copied out, nothing stays open.  Attributes:

    path, task, cfg (TrainConfig), options (Engine's keywords: Engine(task, **options) makes the run's
    data and initial weights); step (steps done), total_steps (planned), rng, ep_loss, ep_correct,
    ep_count (the running sums of the unfinished epoch), elapsed_s, rows (the epoch log: dicts epoch,
    step, train_loss, train_acc, val_loss, val_acc, time_s, samples_per_s); the model's shapes as on
    Engine (L, din, H, N, M, K, nout, Hout, glu, prenorm, dense, dplr, s5, dropout, dense_A, dense_B), n_out,
    regression, tol; params, exp_avg, exp_avg_sq {arena name: float32 array, Engine's shapes}: the
    weights and AdamW's first and second moments (torch.optim.AdamW's exp_avg and exp_avg_sq after
    `step` steps; zero for frozen tensors); groups {name: DECAY | NODECAY | SSM}.  With data=True also
    the splits train_x/train_y, val_x/val_y, test_x/test_y, as the engine loads them.

    A model exported by `ssmkit export` (a .safetensors path, read by ssm_train_export_read: config,
    init digest, names and shapes checked) gives the same attributes, with exp_avg and exp_avg_sq None
    (an export has no optimiser state) and empty running sums."""

    def __init__(self, path, data=False):
        path = os.fspath(path)
        self.path = os.path.join(path, "ckpt.bin") if os.path.isdir(path) else path   # as `ssmkit eval`
        p = ctypes.POINTER(TrainState)()
        opener = lib.ssm_train_export_open if self.path.endswith(".safetensors") else lib.ssm_train_checkpoint_open
        _check(opener(ctypes.byref(p), os.fsencode(self.path), 1 if data else 0))
        try:
            self._read(p.contents, data)
        finally:
            lib.ssm_train_state_free(p)

    def _read(self, st, data):
        self.cfg = TrainConfig.from_buffer_copy(st.cfg)
        self.task = lib.ssm_train_task_name(st.cfg.task).decode()
        self.options = _options(self.cfg)
        for k in ("step", "total_steps", "rng", "ep_correct", "ep_count"):
            setattr(self, k, int(getattr(st, k)))
        self.ep_loss, self.elapsed_s = float(st.ep_loss), float(st.elapsed_s)
        self.rows = [{k: getattr(r, k) for k, _ in TrainEpochRow._fields_} for r in st.rows[:st.n_rows]]
        d = st.data
        self.n_out, self.regression, self.tol = int(d.n_out), bool(d.regression), float(d.tol)
        mm = st.model.contents
        _read_model(self, mm)
        exported = not st.adam_m   # ssm_train_export_open: no optimiser state
        self.exp_avg = None if exported else _arena(self, mm, st.adam_m)
        self.exp_avg_sq = None if exported else _arena(self, mm, st.adam_v)
        self.spe = self.cfg.n_train // self.cfg.batch
        if data:
            self.train_x, self.train_y = _split_arrays(d.train)
            self.val_x, self.val_y = _split_arrays(d.val)
            self.test_x, self.test_y = _split_arrays(d.test)

    def __repr__(self):
        return (f"<ssmkit.engine.Checkpoint {self.task} step {self.step} of {self.total_steps}, "
                f"{sum(a.size for a in self.params.values())} parameters, from {self.path}>")


def load_checkpoint(path, data=False):
    """Read a `ssmkit train --checkpoint` run folder (or its ckpt.bin, or a model exported by `ssmkit
    export` as .safetensors) through the library's reader and
    validator: a Checkpoint.  data=True loads the task's splits too (as `ssmkit eval` does).  A bad file
    raises ssmkit.Error with the reader's one-line message (EFORMAT; EIO when unreadable)."""
    return Checkpoint(path, data=data)
