"""ssmkit._lib — finding libssmkit.so and declaring the C API through ctypes.

Only plain C structs are mirrored here (matrices, tensors, the init-file object, the verify report,
the option structs); every opaque object (ssm_st, plans) stays a void pointer.  Nothing here prints
or exits.

Where the library comes from, first match wins:
  1. $SSMKIT_LIB (a path to libssmkit.so);
  2. ../build/libssmkit.so relative to this package (the source tree after `make`);
  3. the library `make install` put beside the package (its directory recorded in _paths.py);
  4. the installed library: ctypes.util.find_library("ssmkit"), then the soname libssmkit.so.0.

OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded.  On a CPU that OpenBLAS 0.3.21 does not
recognise it falls back to a slow core; the `ssmkit` binary then re-executes itself with the faster
core set, which a library cannot do.  So: set OPENBLAS_CORETYPE (e.g. Haswell, SkylakeX) in the
environment before Python starts, or in os.environ before the first `import ssmkit` (and before
numpy or torch load OpenBLAS), when you want the CLI's speed and the CLI's last bits for the
OpenBLAS routes (transfer, pspec; init files are built on the fixed reference kernel and are the
same bits whatever the core).  ssmkit.blas_info() says which core is running.
"""
import ctypes
import ctypes.util
import os

c_double_p = ctypes.POINTER(ctypes.c_double)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)

STATUS_NAMES = ["OK", "EINVAL", "ENOMEM", "ENOCONV", "ELOSS", "EFORMAT", "EIO", "ECHECK", "EWRITE"]


class DMat(ctypes.Structure):
    """ssm_dmat_struct: row-major doubles, element (i, j) at data[i*ld + j]."""
    _fields_ = [("data", c_double_p), ("rows", ctypes.c_size_t), ("cols", ctypes.c_size_t),
                ("ld", ctypes.c_size_t)]


class ZMat(ctypes.Structure):
    """ssm_zmat_struct: double complex = two doubles (re, im)."""
    _fields_ = [("data", c_double_p), ("rows", ctypes.c_size_t), ("cols", ctypes.c_size_t),
                ("ld", ctypes.c_size_t)]


class MPMat(ctypes.Structure):
    """ssm_mpmat_struct (entries are MPFR numbers, never touched from Python)."""
    _fields_ = [("data", ctypes.c_void_p), ("rows", ctypes.c_size_t), ("cols", ctypes.c_size_t),
                ("ld", ctypes.c_size_t), ("prec", ctypes.c_long)]


SSM_ST_MAXDIM = 8


class Tensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("ndim", ctypes.c_int), ("shape", ctypes.c_size_t * SSM_ST_MAXDIM),
                ("count", ctypes.c_size_t), ("data", c_double_p)]


class InitFileStruct(ctypes.Structure):
    """ssm_init_file (init/init.h); read-only from Python."""
    _fields_ = [("st", ctypes.c_void_p), ("N", ctypes.c_size_t), ("M", ctypes.c_size_t), ("r", ctypes.c_size_t),
                ("conj_sym", ctypes.c_int), ("lam", c_double_p), ("B", c_double_p), ("C", c_double_p),
                ("V", ZMat), ("Vinv", ZMat), ("P", ZMat),
                ("A_target", DMat), ("B_target", DMat), ("C_target", DMat), ("E", DMat)]


class InitOpts(ctypes.Structure):
    _fields_ = [("N", ctypes.c_size_t), ("eps", ctypes.c_double), ("tf_weight", ctypes.c_double),
                ("seed", ctypes.c_ulong), ("conj_sym", ctypes.c_int), ("blocks", ctypes.c_size_t),
                ("C", ctypes.c_int), ("clip_im_B", ctypes.c_double), ("omega_lo", ctypes.c_double),
                ("omega_hi", ctypes.c_double), ("omega_count", ctypes.c_size_t), ("prec", ctypes.c_long),
                ("progress", ctypes.c_void_p)]


class VerifyItem(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char * 32), ("stored", ctypes.c_char * 48), ("recomputed", ctypes.c_char * 48),
                ("tolerance", ctypes.c_double), ("ok", ctypes.c_int)]


class VerifyReport(ctypes.Structure):
    _fields_ = [("item", VerifyItem * 24), ("count", ctypes.c_int), ("failed", ctypes.c_int),
                ("tf_error", ctypes.c_double), ("tf_signal", ctypes.c_double), ("tf_relative", ctypes.c_double)]


class VerifyMPItem(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char * 32), ("stored", ctypes.c_double), ("mp", ctypes.c_double),
                ("digits", ctypes.c_double)]


class PspecOpts(ctypes.Structure):
    _fields_ = [("method", ctypes.c_int), ("tol", ctypes.c_double), ("max_iter", ctypes.c_int),
                ("block", ctypes.c_int), ("threads", ctypes.c_int), ("seed", ctypes.c_ulong)]


class PspecInfo(ctypes.Structure):
    _fields_ = [("route", ctypes.c_char_p), ("points", ctypes.c_size_t), ("mirrored", ctypes.c_size_t),
                ("iterations", ctypes.c_size_t), ("unconverged", ctypes.c_size_t),
                ("guard_failed", ctypes.c_size_t), ("refined", ctypes.c_size_t),
                ("secular_handed", ctypes.c_size_t)]


class MPCMat(ctypes.Structure):
    """ssm_mpcmat_struct (entries are MPC numbers, never touched from Python)."""
    _fields_ = [("data", ctypes.c_void_p), ("rows", ctypes.c_size_t), ("cols", ctypes.c_size_t),
                ("ld", ctypes.c_size_t), ("prec", ctypes.c_long)]


class MpeigOpts(ctypes.Structure):
    _fields_ = [("route", ctypes.c_int), ("digits", ctypes.c_double), ("max_prec", ctypes.c_long),
                ("certify", ctypes.c_int)]


class MpeigInfo(ctypes.Structure):
    _fields_ = [("route", ctypes.c_int), ("working_prec", ctypes.c_long), ("digits", ctypes.c_double),
                ("kappa_V", ctypes.c_double), ("kappa_V_log10", ctypes.c_double),
                ("backward_error", ctypes.c_double), ("backward_error_log10", ctypes.c_double),
                ("certified", ctypes.c_int), ("radius_lambda", ctypes.c_double), ("radius_V", ctypes.c_double),
                ("contains_result", ctypes.c_int)]


class Npy(ctypes.Structure):
    _fields_ = [("ndim", ctypes.c_int), ("shape", ctypes.c_size_t * SSM_ST_MAXDIM), ("count", ctypes.c_size_t),
                ("is_complex", ctypes.c_int), ("data", c_double_p)]


class EigInfo(ctypes.Structure):
    _fields_ = [("kappa_V", ctypes.c_double), ("backward_error", ctypes.c_double),
                ("reconstruction_error", ctypes.c_double)]


def _candidates():
    env = os.environ.get("SSMKIT_LIB")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.normpath(os.path.join(here, "..", "..", "build", "libssmkit.so"))
    try:  # installed by `make install`: the library's directory, recorded there
        from ._paths import LIBDIR
        yield os.path.join(LIBDIR, "libssmkit.so.0")
    except ImportError:
        pass
    found = ctypes.util.find_library("ssmkit")
    if found:
        yield found
    yield "libssmkit.so.0"


def _load():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(f"{path}: not found")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(str(e))
    raise ImportError("ssmkit: cannot load libssmkit.so (set SSMKIT_LIB, run `make`, or `make install`): "
                      + "; ".join(errors))


lib, path = _load()
libc = ctypes.CDLL(None)
libc.free.argtypes = [ctypes.c_void_p]
libc.free.restype = None
libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
libc.open_memstream.restype = ctypes.c_void_p
libc.fclose.argtypes = [ctypes.c_void_p]
libc.fclose.restype = ctypes.c_int

S = ctypes.c_int          # ssm_status
P = ctypes.c_void_p
Z = ctypes.c_size_t
D = ctypes.c_double
I = ctypes.c_int
CP = ctypes.c_char_p
DM = ctypes.POINTER(DMat)
ZM = ctypes.POINTER(ZMat)


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_decl("ssm_strerror", CP, S)
_decl("ssm_error_message", CP)
_decl("ssm_error_clear", None)
_decl("ssm_blas_core", CP)
_decl("ssm_blas_best_core", CP)
_decl("ssm_blas_upgrade", CP, CP, CP)
_decl("ssm_blas_selftest", I)
_decl("ssm_zmat_clear", None, ZM)
_decl("ssm_dmat_clear", None, DM)
_decl("ssm_zmat_eigvals", S, c_double_p, ZM)
_decl("ssm_diag_eig", S, c_double_p, ZM, ZM, ctypes.POINTER(EigInfo), ZM)
_decl("ssm_zmat_init", S, ZM, Z, Z)
# hippo
_decl("ssm_hippo_lookup", S, ctypes.POINTER(ctypes.c_int), CP)
_decl("ssm_hippo_name", CP, I)
_decl("ssm_hippo_rank", Z, I)
_decl("ssm_hippo_check_size", S, I, Z)
_decl("ssm_hippo", S, DM, DM, DM, I, Z)
_decl("ssm_mpmat_init", S, ctypes.POINTER(MPMat), Z, Z, ctypes.c_long)
_decl("ssm_mpmat_clear", None, ctypes.POINTER(MPMat))
_decl("ssm_mpmat_get_dmat", S, DM, ctypes.POINTER(MPMat))
_decl("ssm_hippo_mp", S, ctypes.POINTER(MPMat), ctypes.POINTER(MPMat), ctypes.POINTER(MPMat), I, Z, P)
_decl("ssm_tsv_write_mpmat", S, CP, P, CP, CP, ctypes.POINTER(MPMat))
_decl("ssm_tsv_read", S, DM, CP)
_decl("ssm_npy_read", S, ctypes.POINTER(Npy), CP)
_decl("ssm_npy_clear", None, ctypes.POINTER(Npy))
# multiprecision matrices and the eigensolver (diag/diag.h)
MPC = ctypes.POINTER(MPCMat)
_decl("ssm_mpcmat_init", S, MPC, Z, Z, ctypes.c_long)
_decl("ssm_mpcmat_clear", None, MPC)
_decl("ssm_mpcmat_set_mpmat", S, MPC, ctypes.POINTER(MPMat))
_decl("ssm_mpcmat_set_zmat", S, MPC, ZM)
_decl("ssm_mpcmat_get_zmat", S, ZM, MPC)
_decl("ssm_mpcmat_split", S, ctypes.POINTER(MPMat), MPC)
_decl("ssm_mpeig_route_lookup", S, ctypes.POINTER(ctypes.c_int), CP)
_decl("ssm_mpeig_route_name", CP, I)
_decl("ssm_diag_eig_mp", S, MPC, MPC, MPC, ctypes.POINTER(MpeigInfo), MPC, ctypes.POINTER(MpeigOpts))
_decl("ssm_diag_eig_mp_contains", S, c_size_t_p, MPC, MPC, MPC, c_double_p, D)
_decl("ssm_diag_rotate_mp", S, MPC, ctypes.c_ulong, I)
_decl("ssm_zmat_norm2", S, c_double_p, ZM)
_decl("ssm_diag_nplr", S, c_double_p, ZM, ZM, ZM, P, DM, DM, DM, P)
# safetensors
_decl("ssm_st_free", None, P)
_decl("ssm_st_write", S, P, CP)
_decl("ssm_st_count", Z, P)
_decl("ssm_st_at", ctypes.POINTER(Tensor), P, Z)
_decl("ssm_st_meta_count", Z, P)
_decl("ssm_st_meta_at", None, P, Z, ctypes.POINTER(CP), ctypes.POINTER(CP))
_decl("ssm_st_meta", CP, P, CP)
_decl("ssm_st_read", S, ctypes.POINTER(P), CP)
_decl("ssm_st_get", ctypes.POINTER(Tensor), P, CP)
# init
_decl("ssm_init_opts_default", InitOpts)
_decl("ssm_init_method_lookup", S, ctypes.POINTER(ctypes.c_int), CP)
_decl("ssm_init_method_name", CP, I)
_decl("ssm_init_build", S, ctypes.POINTER(P), I, ctypes.POINTER(InitOpts))
_decl("ssm_init_file_take", S, ctypes.POINTER(ctypes.POINTER(InitFileStruct)), P)
_decl("ssm_init_file_read", S, ctypes.POINTER(ctypes.POINTER(InitFileStruct)), CP)
_decl("ssm_init_file_free", None, ctypes.POINTER(InitFileStruct))
_decl("ssm_init_verify", S, ctypes.POINTER(VerifyReport), ctypes.POINTER(InitFileStruct))
_decl("ssm_init_verify_mp", S, ctypes.POINTER(VerifyMPItem), I, ctypes.POINTER(I), ctypes.POINTER(InitFileStruct),
      ctypes.c_long)
_decl("ssm_init_state_matrix", S, ZM, ctypes.POINTER(c_double_p), ZM, ctypes.POINTER(InitFileStruct))
_decl("ssm_init_transfer", S, c_double_p, ctypes.POINTER(InitFileStruct), I, c_double_p, Z)
_decl("ssm_init_C", S, DM, I, ctypes.c_ulong)
# analysis
_decl("ssm_tf_omega_grid", S, c_double_p, c_double_p, D, D, Z, I)
_decl("ssm_tf_plan_create", S, ctypes.POINTER(P), ZM, ZM, ZM, D, D)  # D passed as (re, im): see _tf_plan
_decl("ssm_tf_eval", S, c_double_p, P, c_double_p, Z)
_decl("ssm_tf_plan_free", None, P)
_decl("ssm_pspec_plan_create", S, ctypes.POINTER(P), ZM, ctypes.POINTER(PspecOpts))
_decl("ssm_pspec_plan_create_dplr", S, ctypes.POINTER(P), c_double_p, ZM, ZM, I, ctypes.POINTER(PspecOpts))
_decl("ssm_pspec_plan_free", None, P)
_decl("ssm_pspec_grid", S, c_double_p, P, ctypes.POINTER(D), Z, Z, ctypes.POINTER(PspecInfo), P)
_decl("ssm_pspec_box", None, ctypes.POINTER(D), c_double_p, Z, I)
_decl("ssm_pspec_eigenvalues", c_double_p, P)
_decl("ssm_pspec_order", Z, P)
_decl("ssm_pspec_is_real", I, P)
_decl("ssm_pspec_route", CP, P)
_decl("ssm_pspec_abscissa", S, c_double_p, c_double_p, ctypes.POINTER(I), ZM, D)
_decl("ssm_stability_radius", S, c_double_p, c_double_p, ctypes.POINTER(I), ZM)
# train (the engine's kernel, for the torch comparison)
_f = ctypes.POINTER(ctypes.c_float)
_decl("ssm_train_kernel_diag_forward", S, _f, _f, _f, _f, _f, Z, Z, Z)
