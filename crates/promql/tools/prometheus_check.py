#!/usr/bin/env python3
"""Runs a Prometheus-test-language file (crates/promql/testdata/*.test) against a real
Prometheus 2.42 (`prometheus` and `promtool` on PATH, e.g. Debian's package) instead of the
embedded engine: the way the expectations in nan.test and labelset.test were confirmed.

All `load` blocks are backfilled into one TSDB with `promtool tsdb create-blocks-from
openmetrics` (so use distinct metric names per block; `clear` is ignored and `stale` cannot be
expressed), a Prometheus is started on 127.0.0.1 with that data, and each `eval`,
`eval_fail` and `eval_ordered` runs through its HTTP API as an instant query and as a range
query ending at the same time (1m step, as the engine's runner does). Prints, per eval, `OK`
or `DIFF` with what Prometheus answered; `OK*` when the instant answer agrees but the range
twin differs (Prometheus' own runner would fail that eval too).

usage: prometheus_check.py FILE.test [--emit OUT.test]
  --emit writes FILE with every expectation replaced by Prometheus' instant answer.
"""
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DUR = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000, "y": 365 * 86_400_000}


def parse_dur(s):
    if s == "0":
        return 0
    total = 0
    for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", s):
        total += int(n) * DUR[u]
    return total


def pf(s):
    low = s.lower()
    if low == "nan":
        return math.nan
    if low in ("inf", "+inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    return float(s)


def parse_values(s):
    out = []
    for item in s.split():
        if item == "_":
            out.append(None)
            continue
        m = re.fullmatch(r"_x(\d+)", item)
        if m:
            out.extend([None] * int(m.group(1)))
            continue
        m = re.fullmatch(r"(.+?)x(\d+)", item)
        if m:
            head, n = m.group(1), int(m.group(2))
            mm = re.fullmatch(r"([-+]?[^-+]+?)([-+][^-+]+)", head)
            if mm and not head.lower().endswith(("inf",)):
                start, step = pf(mm.group(1)), pf(mm.group(2))
            else:
                start, step = pf(head), 0.0
            v = start
            out.append(v)
            for _ in range(n):
                v += step
                out.append(v)
            continue
        out.append(pf(item))
    return out


def split_series(line):
    # name{labels} values | {labels} values | name values
    m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?(\{[^}]*\})?\s*(.*)$", line)
    name, lbl, rest = m.group(1), m.group(2), m.group(3)
    labels = {}
    if name:
        labels["__name__"] = name
    if lbl:
        for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', lbl):
            labels[k] = v
    return labels, rest


def fmt_labels(labels):
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    if rest or not name:
        return f"{name}{{{rest}}}"
    return name


ENDS = {}


def parse_file(text):
    lines = [l.strip() for l in text.splitlines()]
    lines = ["" if l.startswith("#") else l for l in lines]
    loads, evals = [], []
    i = 0
    while i < len(lines):
        l = lines[i]
        if not l:
            i += 1
            continue
        word = l.split()[0].lower()
        start = i
        if word == "load":
            gap = parse_dur(l.split()[1])
            i += 1
            while i < len(lines) and lines[i]:
                labels, rest = split_series(lines[i])
                loads.append((labels, gap, parse_values(rest)))
                i += 1
        elif word == "clear":
            i += 1
        elif word.startswith("eval"):
            m = re.match(r"^(\S+)\s+instant\s+at\s+(\S+)\s+(.*)$", l)
            kind, at, expr = m.group(1), parse_dur(m.group(2)), m.group(3)
            i += 1
            expected = []
            while i < len(lines) and lines[i]:
                expected.append(lines[i])
                i += 1
            evals.append((start + 1, kind, at, expr, expected))
            ENDS[start + 1] = i
        else:
            raise SystemExit(f"line {i + 1}: unknown command {l!r}")
    return loads, evals


def fmt_value(v):
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return "NaN"
    if v == math.inf:
        return "+Inf"
    if v == -math.inf:
        return "-Inf"
    return repr(v)


def om_value(v):
    return fmt_value(v)


def openmetrics(loads):
    fams = {}
    for labels, gap, vals in loads:
        fams.setdefault(labels["__name__"], []).append((labels, gap, vals))
    out = []
    for name, lst in fams.items():
        out.append(f"# TYPE {name} gauge")
        for labels, gap, vals in lst:
            l = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
            for j, v in enumerate(vals):
                if v is None:
                    continue
                t = j * gap
                out.append(f"{name}{{{l}}} {om_value(v)} {t // 1000}.{t % 1000:03d}")
    out.append("# EOF")
    return "\n".join(out) + "\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def almost_equal(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    mn = sys.float_info.min
    if a == 0 or b == 0 or diff < mn:
        return diff < 1e-6 * mn
    return diff / (abs(a) + abs(b)) < 1e-6


def show(resp):
    if resp.get("status") != "success":
        return ["ERROR " + resp.get("error", "?")]
    d = resp["data"]
    if d["resultType"] == "scalar":
        return [d["result"][1]]
    if d["resultType"] == "vector":
        return [f"{fmt_labels(s['metric'])} {s['value'][1]}" for s in d["result"]]
    if d["resultType"] == "matrix":
        return [f"{fmt_labels(s['metric'])} " + " ".join(f"@{p[0]}:{p[1]}" for p in s["values"]) for s in d["result"]]
    return [json.dumps(d)]


def agrees(kind, expected, resp):
    if kind == "eval_fail":
        return resp.get("status") != "success"
    if resp.get("status") != "success":
        return False
    d = resp["data"]
    if d["resultType"] == "scalar":
        return len(expected) == 1 and almost_equal(pf(expected[0]), pf(d["result"][1]))
    exp = []
    for e in expected:
        labels, rest = split_series(e)
        exp.append((labels, pf(rest.strip())))
    got = [(s["metric"], pf(s["value"][1])) for s in d["result"]]
    if len(got) != len(exp):
        return False
    for pos, (l, v) in enumerate(got):
        idx = next((k for k, (el, _) in enumerate(exp) if el == l), None)
        if idx is None or (kind == "eval_ordered" and idx != pos) or not almost_equal(exp[idx][1], v):
            return False
    return True


def main():
    path = sys.argv[1]
    loads, evals = parse_file(open(path).read())
    tmp = tempfile.mkdtemp(prefix="promcheck-")
    try:
        om = os.path.join(tmp, "data.om")
        open(om, "w").write(openmetrics(loads))
        data = os.path.join(tmp, "data")
        r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, data], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("promtool: " + r.stderr + r.stdout)
        cfg = os.path.join(tmp, "prometheus.yml")
        open(cfg, "w").write("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        port = free_port()
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
             "--storage.tsdb.retention.time=100y"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prom.log"), "w"))
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/-/ready", timeout=1)
                    break
                except Exception:
                    time.sleep(0.1)
            bad = 0
            for line, kind, at, expr, expected in evals:
                q = urllib.parse.quote(expr)
                inst = get(f"{base}/api/v1/query?query={q}&time={at / 1000}")
                rng = get(f"{base}/api/v1/query_range?query={q}&start={(at - 60000) / 1000}&end={at / 1000}&step=60")
                ok = agrees(kind, expected, inst)
                # The range query's last step must agree too (as the runner checks).
                rok = True
                if kind == "eval" and inst.get("status") == "success" and inst["data"]["resultType"] in ("vector", "scalar"):
                    if rng.get("status") != "success":
                        rok = False
                    else:
                        pts = []
                        for s in rng["data"]["result"]:
                            for p in s["values"]:
                                if abs(p[0] * 1000 - at) < 1:
                                    pts.append({"metric": s["metric"], "value": p})
                        if inst["data"]["resultType"] == "scalar":
                            fake = {"status": "success", "data": {"resultType": "scalar", "result": pts[0]["value"] if pts else [0, "NaN"]}}
                        else:
                            fake = {"status": "success", "data": {"resultType": "vector", "result": pts}}
                        rok = agrees(kind, expected, fake)
                if kind == "eval_fail" and rng.get("status") == "success":
                    rok = "range-ok"
                mark = "OK  " if ok and rok is True else ("OK* " if ok else "DIFF")
                bad += 0 if ok else 1
                print(f"{mark} {path}:{line}: {kind} at {at // 1000}s {expr}")
                if not ok or rok is not True:
                    print("     expected:", expected or "(empty)")
                    print("     instant: ", show(inst))
                    print("     range:   ", show(rng))
            print(f"{len(evals) - bad} agree, {bad} differ")
            if "--emit" in sys.argv:
                out_path = sys.argv[sys.argv.index("--emit") + 1]
                src = open(path).read().splitlines()
                answers = {}
                for line, kind, at, expr, expected in evals:
                    q = urllib.parse.quote(expr)
                    inst = get(f"{base}/api/v1/query?query={q}&time={at / 1000}")
                    answers[line] = (kind, at, expr, inst)
                out, i = [], 0
                while i < len(src):
                    if (i + 1) in answers:
                        kind, at, expr, inst = answers[i + 1]
                        head = src[i]
                        if inst.get("status") != "success":
                            out.append(re.sub(r"^\s*\S+", "eval_fail", head, count=1))
                        else:
                            if kind == "eval_fail":
                                head = re.sub(r"^\s*\S+", "eval", head, count=1)
                            out.append(head)
                            d = inst["data"]
                            if d["resultType"] == "scalar":
                                out.append("  " + d["result"][1])
                            else:
                                for smp in d["result"]:
                                    out.append(f"  {fmt_labels(smp['metric'])} {smp['value'][1]}")
                        i = ENDS[i + 1]
                        continue
                    out.append(src[i])
                    i += 1
                open(out_path, "w").write("\n".join(out) + "\n")
        finally:
            proc.terminate()
            proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
