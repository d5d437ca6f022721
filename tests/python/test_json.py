"""Every command's --json and every experiment's NAME.json against the schemas of doc/json.md: exactly the
documented keys (nested objects and array items too), each of a documented type, in at least two
variants per command (methods, options, outcomes that leave keys null)."""
import json
import os
import re

from common import ROOT, cli, cli_json, experiment, tmp

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, float),  # jansson prints every real with a point or an exponent
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def schemas():
    """{schema id: {key path: set of type names}} from the tables of doc/json.md."""
    out, cur = {}, None
    for line in open(os.path.join(ROOT, "doc", "json.md"), encoding="utf-8"):
        m = re.match(r"^## `([^`]+)`", line)
        if m:
            cur = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"^\| `([^`]+)` \| ([a-z ]+?) \|", line)
        if m and cur is not None:
            types = set(m.group(2).split(" or "))
            assert types <= set(TYPES), f"doc/json.md: unknown type in {line.strip()}"
            cur[m.group(1)] = types
    return out


SCHEMAS = schemas()


def check(obj, schema, prefix="", where=""):
    """obj holds exactly the keys documented under prefix, each of a documented type; recurse into the
    documented objects and arrays of objects."""
    want = {p[len(prefix):]: t for p, t in schema.items()
            if p.startswith(prefix) and "." not in p[len(prefix):]}
    assert set(obj) == set(want), (f"{where}{prefix}: keys {sorted(set(obj) - set(want))} not documented, "
                                   f"{sorted(set(want) - set(obj))} missing")
    for k, types in want.items():
        v = obj[k]
        assert any(TYPES[t](v) for t in types), f"{where}{prefix}{k} = {v!r}: not {' or '.join(sorted(types))}"
        if isinstance(v, dict) and any(p.startswith(prefix + k + ".") for p in schema):
            check(v, schema, prefix + k + ".", where)
        if isinstance(v, list) and any(p.startswith(prefix + k + "[].") for p in schema):
            for item in v:
                check(item, schema, prefix + k + "[].", where)


def run_variants(name, variants):
    schema = SCHEMAS[name]
    assert schema, f"doc/json.md has no schema '{name}'"
    nulls = set()
    for v in variants:
        obj = v() if callable(v) else cli_json(*v)
        check(obj, schema, where=f"{name} {v if not callable(v) else ''}: ")
        nulls |= {k for k, x in obj.items() if x is None}
    return f"{len(variants)} variants, {len(schema)} keys; null seen: {len(nulls)}"


def test_hippo():
    return run_variants("hippo", [
        ("hippo", "legs", "-N", 6, "-o", tmp("j-legs.npy"), "--json"),
        ("hippo", "lmu", "-N", 6, "-o", tmp("j-lmu.safetensors"), "--json"),       # rank 0: defect null
        ("hippo", "legt", "-N", 6, "--prec", 100, "--what", "P", "-o", tmp("j-legt.tsv"), "--json"),
    ])


def test_init():
    return run_variants("init", [
        ("init", "s4d-lin", "-N", 8, "-o", tmp("j-lin.safetensors"), "--json"),     # no target
        ("init", "ptd", "-N", 8, "-o", tmp("j-ptd.safetensors"), "--json", "-q"),   # the PTD keys
        ("init", "s5-legs", "-N", 8, "--blocks", 2, "-o", tmp("j-s5.safetensors"), "--json"),
        ("init", "s4d-legs", "-N", 8, "--prec", 100, "--clip-im-B", 2, "-o", tmp("j-mp.safetensors"), "--json"),
    ])


def test_verify():
    cli("init", "s4d-lin", "-N", 8, "-o", tmp("v-lin.safetensors"), "-q")
    cli("init", "s4d-legs", "-N", 8, "-o", tmp("v-legs.safetensors"), "-q")
    return run_variants("verify", [
        ("verify", tmp("v-lin.safetensors"), "--json"),
        ("verify", tmp("v-legs.safetensors"), "--json", "--prec", 100),
    ])


def test_transfer():
    return run_variants("transfer", [
        ("transfer", "init:s4d-legs:8", "--omega", "0.1:100:5:log", "--json"),
        ("transfer", "init:s4d-legs:8", "--vs", "hippo:legs:8", "--omega", "0.1:100:50:log", "--sup", "--hinf",
         "-o", tmp("j-tf.tsv"), "--json"),
    ])


def test_eig():
    return run_variants("eig", [
        ("eig", "hippo:legs:6", "--json"),
        ("eig", "hippo:legs:6", "--prec", 100, "--certify", "-o", tmp("j-ev.tsv"), "--json"),
    ])


def test_pspec():
    return run_variants("pspec", [
        ("pspec", "hippo:legs:8", "--grid", 5, "--json"),
        ("pspec", "hippo:legs:8", "--abscissa", 0.1, "--radius", "--json"),
        ("pspec", "init:ptd:8", "--grid", "4x3", "--abscissa", 0.01, "-o", tmp("j-ps.tsv"), "--json"),
    ])


TINY = ["--d-model", 4, "--layers", 1, "--d-state", 4, "--n-train", 64, "--n-val", 32, "--n-test", 32,
        "--batch", 16, "--threads", 1, "-q"]


def test_train_eval():
    ck = tmp("j-ck")
    a = run_variants("train", [
        ("train", "adding", "--init", "s4d-lin", "--steps", 3, *TINY, "--checkpoint", ck, "--json"),
        ("train", "sinusoid", "--init", "s4d-legs", "--epochs", 1, "--glu", *TINY, "--json"),
    ])
    b = run_variants("eval", [
        ("eval", ck, "--json"),
        ("eval", ck, "--noise-sweep", "1:100:3", "--amps", "0.1,0.2", "--json"),
    ])
    c = run_variants("export", [
        ("export", ck, "-o", tmp("j-model.safetensors"), "--json"),
        ("export", tmp("j-model.safetensors"), "-o", tmp("j-model2.safetensors"), "--json"),
    ])
    return f"train: {a}; eval: {b}; export: {c}"


def _exp_json(name, *args):
    return lambda: json.load(open(os.path.join(experiment(name, *args), name + ".json")))


EXPERIMENT_VARIANTS = {
    "kappa-growth": [("--n-max", 8), ("--n-max", 12)],          # one size >= 8 (slope null), then two
    "spikes": [("--n-max", 16), ("--n-max", 32)],
    "convergence": [("--n-max", 8), ("--n-max", 16)],            # one N (slopes null), then two
    "eps-sweep": [("--n-max", 8, "--eps", 0.1), ("--n-max", 8, "--eps", 0.05)],
    "ptd-front": [("--n-max", 16)],
    "pseudospectra": [("--n-max", 8), ("--n-max", 6, "--eps", 0.1)],
    "bode": [("--n-max", 8), ("--n-max", 4)],
    "robustness": [("--quick",), ("--quick", "--seed", 1)],
}


def _merged(name, *args):
    """The job protocol: every --job K into a fresh folder, then --merge: NAME.json (its summary must be the
    in-process run's, numbers included, as the jobs are deterministic)"""
    def run():
        d = tmp("merge-" + name)
        os.makedirs(d, exist_ok=True)
        _, jobs, _ = cli("experiment", name, *args, "--jobs")
        for k in range(len(jobs.splitlines())):
            cli("experiment", name, *args, "--out", d, "--job", k, "-q")
        obj = cli_json("experiment", name, *args, "--out", d, "--merge", "--json")
        ref = json.load(open(os.path.join(experiment(name, *args), name + ".json")))
        assert obj == ref, f"{name}: the merged summary differs from the in-process one"
        return obj
    return run


def test_experiments():
    notes = []
    for name, variants in EXPERIMENT_VARIANTS.items():
        calls = [_exp_json(name, *v) for v in variants]
        if len(variants) == 1:  # the second variant: the same options through --job K and --merge
            calls.append(_merged(name, *variants[0]))
        notes.append(f"{name}: " + run_variants("experiment " + name, calls))
    return "; ".join(notes)


def test_robustness_medium():
    """robustness --medium at the smoke-test size, 2 seeds: every job in process, then the merged JSON; once
    more through --jobs/--job/--merge (the same summary: the jobs are deterministic)"""
    args = ("--medium", "--quick", "--seeds", 2)
    def merged():
        d = tmp("merge-robustness-medium")
        os.makedirs(d, exist_ok=True)
        _, jobs, _ = cli("experiment", "robustness", *args, "--jobs")
        for k in range(sum(1 for line in jobs.splitlines() if not line.startswith("#"))):
            cli("experiment", "robustness", *args, "--out", d, "--job", k, "-q")
        obj = cli_json("experiment", "robustness", *args, "--out", d, "--merge", "--json")
        ref = json.load(open(os.path.join(experiment("robustness", *args), "robustness-medium-quick.json")))
        assert obj == ref, "robustness --medium: the merged summary differs from the in-process one"
        return obj
    return run_variants("experiment robustness --medium", [
        lambda: json.load(open(os.path.join(experiment("robustness", *args), "robustness-medium-quick.json"))), merged])


def test_every_schema_exercised():
    documented = set(SCHEMAS)
    exercised = {"experiment robustness --medium", "hippo", "init", "verify", "transfer", "eig", "pspec", "train", "eval", "export"} | {
        "experiment " + n for n in EXPERIMENT_VARIANTS}
    assert documented == exercised, f"documented, not tested: {documented - exercised}; tested, not documented: " \
                                    f"{exercised - documented}"
    return f"{len(documented)} schemas"
