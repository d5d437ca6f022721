#!/usr/bin/python3
"""bench/blas_core.py — which BLAS a Python peer really runs: imports the module
named on the command line (numpy or torch), then asks the OpenBLAS library that
this process has loaded (found in /proc/self/maps) for its core with
openblas_get_corename().  Prints one word: the core (e.g. Haswell), or
"not-openblas:<library>" when the module's BLAS is another library, or
"unknown" when no BLAS library is mapped.

    /usr/bin/python3 bench/blas_core.py torch
"""
import ctypes
import importlib
import sys


def main():
    mod = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "numpy")
    if hasattr(mod, "ones"):  # touch the BLAS once, in case it is loaded lazily
        a = mod.ones((4, 4))
        a @ a
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if "/" in line and ("blas" in line.lower() or "mkl" in line.lower())})
    for lib in libs:
        if "openblas" in lib:
            f = ctypes.CDLL(lib).openblas_get_corename
            f.restype = ctypes.c_char_p
            print(f().decode())
            return
    print(f"not-openblas:{libs[0]}" if libs else "unknown")


if __name__ == "__main__":
    main()
