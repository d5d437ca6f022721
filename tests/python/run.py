#!/usr/bin/python3
"""tests/python/run.py — run every test_* function of tests/python/test_*.py (no pytest needed).

    PYTHONPATH=python /usr/bin/python3 tests/python/run.py [NAME_SUBSTRING ...]

A test passes when it returns (a returned string is printed as its measurements) and fails on any
exception.  The last line is `N passed, M failed`; the exit status is 1 when anything failed."""
import importlib.util
import os
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)


def main(args):
    passed = failed = 0
    for fn in sorted(f for f in os.listdir(here) if f.startswith("test_") and f.endswith(".py")):
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(here, fn))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            print(f"FAIL {fn}: import\n{traceback.format_exc()}", flush=True)
            failed += 1
            continue
        for name in [n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n))]:
            full = f"{fn[:-3]}.{name}"
            if args and not any(a in full for a in args):
                continue
            t0 = time.time()
            try:
                note = getattr(mod, name)()
                passed += 1
                print(f"ok   {full} ({time.time() - t0:.1f} s){': ' + note if note else ''}", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {full}\n{traceback.format_exc()}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
