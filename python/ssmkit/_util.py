"""ssmkit._util — the error path and the numpy <-> matrix-struct helpers every module of the package uses.

Nothing here prints or exits: a non-OK status of the library becomes ssmkit.Error."""
import ctypes

import numpy as np

from . import _lib
from ._lib import lib, DMat, ZMat


class Error(Exception):
    """A non-OK ssm_status: .status is its name ("EINVAL", "EFORMAT", ...), .message the library's
    one-line reason (ssm_error_message)."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _check(status, context=None):
    """Raise Error for a non-OK status, with the library's message (then cleared)."""
    if status == 0:
        return
    name = _lib.STATUS_NAMES[status] if 0 <= status < len(_lib.STATUS_NAMES) else f"status {status}"
    msg = (lib.ssm_error_message() or b"").decode("utf-8", "replace")
    if not msg:
        msg = lib.ssm_strerror(status).decode()
    if context:
        msg = f"{context}: {msg}"
    lib.ssm_error_clear()
    raise Error(name, msg)


def _usage(msg):
    """Bad input found on the Python side: the library's EINVAL (the CLI's exit status 2)."""
    raise Error("EINVAL", msg)


def _dmat(a):
    """A DMat viewing a C-contiguous float64 2-D (or 1-D: column) numpy array."""
    assert a.dtype == np.float64 and a.flags.c_contiguous
    rows = a.shape[0] if a.ndim else 1
    cols = a.shape[1] if a.ndim == 2 else 1
    return DMat(a.ctypes.data_as(_lib.c_double_p), rows, cols, cols)


def _zmat(a):
    """A ZMat viewing a C-contiguous complex128 2-D (or 1-D: column) numpy array."""
    assert a.dtype == np.complex128 and a.flags.c_contiguous
    rows = a.shape[0]
    cols = a.shape[1] if a.ndim == 2 else 1
    return ZMat(a.ctypes.data_as(_lib.c_double_p), rows, cols, cols)


def _zptr(a):
    assert a.dtype == np.complex128 and a.flags.c_contiguous
    return a.ctypes.data_as(_lib.c_double_p)


def _take_zmat(m):
    """Copy a library-allocated ZMat into numpy and clear it."""
    try:
        if not m.rows or not m.cols:
            return np.zeros((m.rows, m.cols), complex)
        out = np.empty((m.rows, m.cols), complex)
        raw = np.ctypeslib.as_array(m.data, shape=(m.rows * m.ld * 2,))
        for i in range(m.rows):
            out[i] = raw[2 * i * m.ld:2 * (i * m.ld + m.cols)].view(complex)
        return out
    finally:
        lib.ssm_zmat_clear(ctypes.byref(m))


def _take_dmat(m):
    """Copy a library-allocated DMat into numpy and clear it."""
    try:
        out = np.zeros((m.rows, m.cols))
        if m.rows and m.cols:
            raw = np.ctypeslib.as_array(m.data, shape=(m.rows * m.ld,))
            for i in range(m.rows):
                out[i] = raw[i * m.ld:i * m.ld + m.cols]
        return out
    finally:
        lib.ssm_dmat_clear(ctypes.byref(m))


def _mp_strings(mpmat):
    """The entries of an MPFR matrix as decimal strings, rows of columns, exactly as `ssmkit ... -o
    FILE.tsv` prints them (ssm_tsv_write_mpmat: enough digits to read back the binary value at the
    matrix's precision), through an in-memory stream (open_memstream)."""
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    fp = _lib.libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not fp:
        raise Error("ENOMEM", "open_memstream failed")
    try:
        s = lib.ssm_tsv_write_mpmat(None, fp, None, ctypes.byref(mpmat))
    finally:
        _lib.libc.fclose(fp)
        text = ctypes.string_at(buf, size.value).decode() if buf else ""
        _lib.libc.free(buf)
    _check(s)
    return [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
