#!/usr/bin/python3
"""Turns bench/run.sh's measurements into the results section of
docs/benchmarks.md.

usage: report.py MANIFEST OUTPUT
  MANIFEST  lines "name<TAB>label<TAB>wrk output file<TAB>peak RSS KiB<TAB>tokens in file"
  OUTPUT    the markdown file; only the part between RESULTS_BEGIN and
            RESULTS_END is replaced (the file is created with an empty
            Analysis section when missing). "-" prints the section.
Environment: CS_VERSION, GIT_REV, WRK_CMD, RUN_CMD, IDLE_CS, IDLE_NGINX, IDLE_COUNT.
"""
import os
import platform
import re
import subprocess
import sys
import time

RESULTS_BEGIN = "<!-- results:begin -->"
RESULTS_END = "<!-- results:end -->"

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS_MS[m.group(2)] if m else None


def parse_wrk(path):
    out = {"rps": None, "p50": None, "p99": None, "requests": 0, "non2xx": 0, "socket_errors": 0}
    text = open(path).read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        if m:
            out[key] = to_ms(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = sum(int(x) for x in m.groups())
    return out


def command_version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


def fmt_target_ratio(r):
    # Three decimals: a ratio just under its target (0.796) must not read
    # as the target itself (0.80) next to "missed".
    return "—" if r is None else "%.3f×" % r


def fmt_ms(v):
    return "—" if v is None else ("%.2f" % v if v < 10 else "%.1f" % v)


def parse_idle(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text or "")}


def main():
    manifest, output = sys.argv[1], sys.argv[2]
    # One manifest line per target and round. Each target is reported by
    # its median round (by req/s), with the other rounds' rates in the notes.
    runs = {}
    for line in open(manifest):
        fields = line.rstrip("\n").split("\t")
        name, label, path, hwm, tokens = fields[:5]
        r = parse_wrk(path)
        r.update(name=name, label=label, rss_kb=int(hwm), tokens=int(tokens))
        runs.setdefault(name, []).append(r)
    rows = []
    for name, rs in runs.items():
        ranked = sorted(rs, key=lambda r: r["rps"] or 0)
        r = dict(ranked[(len(ranked) - 1) // 2])
        r["rss_kb"] = max(x["rss_kb"] for x in rs)
        r["round_rps"] = [x["rps"] for x in rs]
        r["non2xx"] = sum(x["non2xx"] or 0 for x in rs)
        r["socket_errors"] = sum(x["socket_errors"] or 0 for x in rs)
        rows.append(r)
    by = {r["name"]: r for r in rows}
    nginx = by.get("nginx", {})
    hap_same = by.get("haproxy", {})
    hap_rot = by.get("haproxy-rotation", {})
    # The HAProxy run under the same wrk load (static header vs Lua token file).
    hap_ref = {"cs-c": hap_rot, "cs-d-es256": hap_rot, "cs-d-rs256": hap_rot}

    L = []
    L.append(RESULTS_BEGIN)
    L.append("")
    L.append("## Results (written by `bench/run.sh`)")
    L.append("")
    L.append("Run finished %s." % time.strftime("%Y-%m-%d %H:%M %Z"))
    L.append("")
    L.append("### Machine and software")
    L.append("")
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    L.append("| | |")
    L.append("|---|---|")
    L.append("| CPU | %s, %d logical cores (`nproc`) |" % (cpu_model(), os.cpu_count() or 0))
    L.append("| kernel | %s |" % platform.release())
    L.append("| load average at the end (1/5/15 min) | %s |" % " / ".join(load))
    L.append("| countersign | %s, git %s |" % (os.environ.get("CS_VERSION", "?"), os.environ.get("GIT_REV", "?")))
    L.append("| nginx | %s |" % command_version(["nginx", "-v"]))
    L.append("| HAProxy | %s |" % command_version(["haproxy", "-v"]))
    L.append("| wrk | %s |" % command_version(["wrk", "-v"]))
    L.append("")
    L.append("Command: `%s`  " % os.environ.get("RUN_CMD", "bash bench/run.sh"))
    L.append("Load per target: `%s`, on 127.0.0.1, wrk on the same machine." % os.environ.get("WRK_CMD", "wrk"))
    L.append("Every server has 1 worker process / thread; the upstream is nginx returning a fixed `200 ok`.")
    L.append("")
    L.append("### Throughput and latency")
    L.append("")
    L.append("Each row is the target's median round by requests/s (all rounds' rates are in the notes); "
             "the rounds run over all targets in turn, so a burst of load from the VM's neighbours "
             "hits one round of a target, not the whole result. "
             "Peak RSS is the highest `VmHWM` of the server process over the rounds (for nginx: master + worker; "
             "countersign is started fresh for each scenario and round). Ratios: requests/s against nginx's plain "
             "proxy and against HAProxy `jwt_verify` under the same wrk load (a fixed header, or the same "
             "Lua token rotation for (c) and (d)); p99 against nginx's p99.")
    L.append("")
    L.append("| target | req/s | p50 ms | p99 ms | peak RSS MiB | req/s vs nginx | p99 vs nginx | req/s vs HAProxy | notes |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        notes = []
        if r["non2xx"]:
            notes.append("**%d non-2xx answers**" % r["non2xx"])
        if r["socket_errors"]:
            notes.append("%d socket errors" % r["socket_errors"])
        if len(r["round_rps"]) > 1:
            notes.append("rounds: " + " / ".join("—" if v is None else "%.0f" % v for v in r["round_rps"]))
        if r["tokens"]:
            if r["requests"] > r["tokens"]:
                notes.append("%d tokens for %d requests: tokens repeat" % (r["tokens"], r["requests"]))
            else:
                notes.append("%d requests, %d tokens: none repeated" % (r["requests"], r["tokens"]))
        hap = hap_ref.get(r["name"], hap_same)
        vs_hap = ratio(r["rps"], hap.get("rps")) if r["name"].startswith("cs-") else None
        L.append("| %s | %s | %s | %s | %.1f | %s | %s | %s | %s |" % (
            r["label"], "—" if r["rps"] is None else "%.0f" % r["rps"], fmt_ms(r["p50"]), fmt_ms(r["p99"]),
            r["rss_kb"] / 1024.0, fmt_ratio(ratio(r["rps"], nginx.get("rps"))),
            fmt_ratio(ratio(r["p99"], nginx.get("p99"))), fmt_ratio(vs_hap), "; ".join(notes)))
    L.append("")

    def target(label, value, goal, ok):
        L.append("| %s | %s | %s | %s |" % (label, goal, value, "met" if ok else "**missed**"))

    L.append("### Targets of issue #7")
    L.append("")
    L.append("| scenario | target | measured | |")
    L.append("|---|---|---|---|")

    def check(name, ref, factor, goal, what="req/s"):
        r = by.get(name, {})
        v = ratio(r.get("rps"), ref.get("rps"))
        target(name.replace("cs-", "(") + ")" if name.startswith("cs-") else name, fmt_target_ratio(v), goal,
               v is not None and v >= factor and not r.get("non2xx"))

    check("cs-a", nginx, 0.8, "req/s ≥ 0.8× nginx")
    a = by.get("cs-a", {})
    p = ratio(a.get("p99"), nginx.get("p99"))
    target("(a)", fmt_target_ratio(p), "p99 ≤ 1.5× nginx", p is not None and p <= 1.5)
    check("cs-b", hap_same, 2.0, "req/s ≥ 2.0× HAProxy jwt_verify")
    check("cs-b", nginx, 0.7, "req/s ≥ 0.7× nginx")
    check("cs-c", hap_rot, 1.5, "req/s ≥ 1.5× HAProxy jwt_verify")
    check("cs-d-es256", hap_rot, 0.7, "req/s ≥ 0.7× HAProxy jwt_verify (ES256 re-signing)")
    idle = parse_idle(os.environ.get("IDLE_CS"))
    count = int(os.environ.get("IDLE_COUNT", "10000"))
    if idle:
        delta = (idle.get("rss_after_kb", 0) - idle.get("rss_before_kb", 0)) / 1024.0
        ok = delta <= 64 and idle.get("opened", 0) >= count
        target("idle", "%.1f MiB for %d connections" % (delta, idle.get("opened", 0)),
               "%d idle keep-alive connections ≤ 64 MiB RSS" % count, ok)
    L.append("")
    L.append("### Idle keep-alive connections")
    L.append("")
    L.append("`bench/idle_conns.py` opens the connections, sends one request on each, reads the answer and "
             "keeps them open; RSS (`VmRSS`) is read before the first and 2 s after the last.")
    L.append("")
    L.append("| server | connections held | failed | RSS before MiB | RSS after MiB | per connection |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for label, text in (("countersign (1 worker)", os.environ.get("IDLE_CS")),
                        ("nginx (master + 1 worker)", os.environ.get("IDLE_NGINX"))):
        d = parse_idle(text)
        if not d:
            continue
        per = (d["rss_after_kb"] - d["rss_before_kb"]) * 1024.0 / d["opened"] if d.get("opened") else 0
        L.append("| %s | %d | %d | %.1f | %.1f | %.1f KiB |" % (
            label, d.get("opened", 0), d.get("failed", 0), d.get("rss_before_kb", 0) / 1024.0,
            d.get("rss_after_kb", 0) / 1024.0, per / 1024.0))
    L.append("")
    L.append(RESULTS_END)
    section = "\n".join(L) + "\n"

    if output == "-":
        sys.stdout.write(section)
        return
    if os.path.exists(output):
        doc = open(output).read()
        b, e = doc.find(RESULTS_BEGIN), doc.find(RESULTS_END)
        if b >= 0 and e > b:
            doc = doc[:b] + section.rstrip("\n") + doc[e + len(RESULTS_END):]
        else:
            doc = doc.rstrip("\n") + "\n\n" + section
    else:
        doc = ("# Benchmarks\n\n" + section + "\n## Analysis\n\n(to be written)\n")
    with open(output, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
