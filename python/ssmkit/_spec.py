"""ssmkit._spec — system specs read as `ssmkit` reads them (cli/spec.c), for eig and pspec.

A spec is "hippo:MEASURE:N", "init:METHOD:N", "target:FILE", an init file (.safetensors tagged
ssmkit-init/1), a matrix file (.npy float64/complex128 2-d C order, .tsv, a .safetensors with tensor
"A" or "A_target"), and from Python also an ssmkit.InitFile or a numpy array.  The files are read by
the library's own readers, so what the CLI refuses is refused here with the same message."""
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import lib, DMat
from ._util import Error, _check, _usage, _take_dmat


class Spec:
    """What a spec names: kind "hippo" (measure, N), "init" (an InitFile: a file, init:METHOD:N or an
    InitFile object), "target" (the InitFile whose A_target is meant), or "matrix" (Z complex128 [N, N],
    is_complex: the file or array held complex entries)."""

    def __init__(self, kind, N, text, measure=None, init=None, Z=None, is_complex=False):
        self.kind, self.N, self.text = kind, N, text
        self.measure, self.init, self.Z, self.is_complex = measure, init, Z, is_complex


def _split(text, prefix, form, cmd):
    """"PREFIX:NAME:N" -> (NAME, N) with the CLI's messages."""
    rest = text[len(prefix):]
    name, colon, n = rest.rpartition(":")
    if not colon or not name or len(name) >= 64:
        _usage(f"{cmd}: bad system spec '{text}' ({form})")
    if not n.isdigit() or int(n) == 0:
        _usage(f"N in the spec must be a positive integer, got '{n}'")
    return name, int(n)


def _hippo(text, cmd, nmax):
    from . import _measure
    name, N = _split(text, "hippo:", "hippo:MEASURE:N", cmd)
    m = _measure(name)
    _check(lib.ssm_hippo_check_size(m, N))
    if N > nmax:
        _usage(f"{cmd}: N = {N} is above the {nmax} supported here")
    return Spec("hippo", N, text, measure=m)


def _square(Z, where, cmd, nmax):
    rows, cols = Z.shape
    if rows != cols or rows == 0:
        _usage(f"{cmd}: the matrix in {where} is {rows} x {cols}, need a non-empty square matrix")
    if rows > nmax:
        _usage(f"{cmd}: the matrix in {where} is {rows} x {cols}, above the {nmax} supported here")
    if not np.all(np.isfinite(Z)):
        _usage(f"{cmd}: {where} holds a non-finite entry")
    return Z


def _npy(path, cmd, nmax):
    a = _lib.Npy()
    _check(lib.ssm_npy_read(ctypes.byref(a), os.fsencode(path)))
    try:
        if a.ndim != 2:
            _usage(f"{cmd}: {path} holds a {a.ndim}-d array, need a 2-d matrix")
        shape = (a.shape[0], a.shape[1])
        n = shape[0] * shape[1] * (2 if a.is_complex else 1)
        raw = np.ctypeslib.as_array(a.data, shape=(n,)).copy() if n else np.zeros(0)
        Z = raw.view(complex).reshape(shape) if a.is_complex else raw.reshape(shape).astype(complex)
        return _square(Z, path, cmd, nmax), bool(a.is_complex)
    finally:
        lib.ssm_npy_clear(ctypes.byref(a))


def _safetensors(path, cmd, nmax):
    """An init file (by its format tag) or a plain safetensors matrix (tensor A, else A_target)."""
    st = ctypes.c_void_p()
    _check(lib.ssm_st_read(ctypes.byref(st), os.fsencode(path)))
    try:
        fmt = lib.ssm_st_meta(st, b"format")
        if fmt == b"ssmkit-init/1":
            return None
        t = lib.ssm_st_get(st, b"A") or lib.ssm_st_get(st, b"A_target")
        if not t or t.contents.ndim != 2:
            _usage(f"{cmd}: {path} has no 2-d tensor 'A' (or 'A_target')")
        t = t.contents
        shape = (t.shape[0], t.shape[1])
        Z = np.ctypeslib.as_array(t.data, shape=(t.count,)).copy().reshape(shape).astype(complex) if t.count \
            else np.zeros(shape, complex)
        return _square(Z, path, cmd, nmax)
    finally:
        lib.ssm_st_free(st)


def read(spec, cmd, nmax, init_nmax=None, init_opts=None, allow=("hippo", "init", "target", "matrix")):
    """Read a spec as `ssmkit CMD` does; nmax: the largest state size the command takes, init_nmax the
    largest N of an init:METHOD:N spec (refused before it is built)."""
    from . import InitFile, init as build, load
    if isinstance(spec, np.ndarray):
        if spec.ndim != 2:
            _usage(f"{cmd}: the matrix must be square (2-d), got shape {spec.shape}")
        Z = _square(np.ascontiguousarray(spec, dtype=complex), "the array", cmd, nmax)
        return Spec("matrix", Z.shape[0], "array", Z=Z, is_complex=bool(np.iscomplexobj(spec)))
    if isinstance(spec, InitFile):
        spec._handle()
        return _checked(Spec("init", spec.N, str(spec.source), init=spec), cmd, nmax)
    text = os.fspath(spec)
    if text.startswith("hippo:"):
        return _hippo(text, cmd, nmax)
    if text.startswith("init:") or text.startswith("target:"):
        kind = text.split(":", 1)[0]
        if kind not in allow:
            _usage(f"{cmd}: '{text}': {cmd} reads hippo:MEASURE:N, a matrix file, or an init file (its A_target)")
        if kind == "init":
            name, N = _split(text, "init:", "init:METHOD:N", cmd)
            cap = init_nmax or nmax
            if N > cap:
                _usage(f"{cmd}: N = {N} in '{text}' is above the {cap} supported for init specs")
            return _checked(Spec("init", N, text, init=build(name, N, **(init_opts or {}))), cmd, nmax)
        f = load(text[7:])
        if "A_target" not in f.raw:
            _usage(f"{cmd}: {text[7:]} has no target system (A_target)")
        return _checked(Spec("target", f.N, text, init=f), cmd, nmax)
    if text.endswith(".npy"):
        Z, cplx = _npy(text, cmd, nmax)
        return Spec("matrix", Z.shape[0], text, Z=Z, is_complex=cplx)
    if text.endswith(".tsv"):
        m = DMat()
        _check(lib.ssm_tsv_read(ctypes.byref(m), os.fsencode(text)))
        Z = _square(_take_dmat(m).astype(complex), text, cmd, nmax)
        return Spec("matrix", Z.shape[0], text, Z=Z)
    if text.endswith(".safetensors"):
        Z = _safetensors(text, cmd, nmax)
        if Z is None:
            try:
                f = load(text)
            except Error as e:
                raise Error(e.status, f"{cmd}: {text}: {e.message}") from None
            return _checked(Spec("init", f.N, text, init=f), cmd, nmax)
        return Spec("matrix", Z.shape[0], text, Z=Z)
    _usage(f"{cmd}: cannot read '{text}' (hippo:MEASURE:N, init:METHOD:N, target:FILE, an init file .safetensors, "
           "or a matrix file .npy, .safetensors, .tsv)")


def _checked(sp, cmd, nmax):
    if sp.N > nmax:
        _usage(f"{cmd}: N = {sp.N} in '{sp.text}' is above the {nmax} supported here")
    return sp
