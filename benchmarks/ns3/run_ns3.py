"""Regenerate the ns-3 goldens in ``tests/golden_ns3/`` (issue #11, item 5).

Needs ns-3 (PyPI package ``ns3``, which ships the C++ headers and shared libraries) and a
C++20 compiler; never runs in CI. Compiles ``ns3_cases.cc`` against the installed ns-3
once (into ``benchmarks/ns3/build/``), then runs every case of ``cases.py`` at both socket
buffer settings, each as its own ns-3 process, and writes one JSON file per case::

    python3 benchmarks/ns3/run_ns3.py                      # all cases
    python3 benchmarks/ns3/run_ns3.py --only parking_lot   # some cases
    NS3_PYTHON=/path/to/venv/bin/python python3 benchmarks/ns3/run_ns3.py

The ns-3 installation is found through the interpreter in ``NS3_PYTHON`` (default
``benchmarks/ns3/.venv/bin/python``). The output is deterministic: the same ns-3 gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from cases import BUFFER_SETTINGS, CASES, Case  # noqa: E402

SOURCE = HERE / "ns3_cases.cc"
BUILD = HERE / "build"
DEFAULT_OUT = REPO / "tests" / "golden_ns3"

MSS = 1448
"""TCP payload per segment: 1500 B IP MTU - 20 B IP - 20 B TCP - 12 B timestamp option."""

WIRE_BYTES_PER_SEGMENT = 1502
"""Bytes on the wire per full segment: the 1500 B IP packet plus ns-3's 2 B PPP header."""

TCP_SETTINGS: dict[str, Any] = {
    "tcp": "TcpCubic",
    "mss": MSS,
    "initcwnd": 10,
    "delack": 2,
    "sack": 1,
    "queue_packets": 20000,
    "stop_ns": 1000 * 10**9,
}
"""What ``ns3_cases.cc`` is told (besides the buffer sizes); documented in README.md."""

SETTINGS_DOC: dict[str, Any] = {
    "tcp_variant": f"ns3::{TCP_SETTINGS['tcp']} (the ns-3 3.44 default; HyStart on, "
                   "detection BOTH; no slow-start restart after idle)",
    "recovery": "ns3::TcpPrrRecovery (default); SACK on; limited transmit on",
    "mss_bytes": MSS,
    "tcp_timestamps": True,
    "window_scaling": True,
    "initial_cwnd_segments": TCP_SETTINGS["initcwnd"],
    "delayed_ack": f"ns-3 default: one ACK per {TCP_SETTINGS['delack']} segments, 200 ms timeout",
    "nagle": False,
    "min_rto_s": 1.0,
    "ip_mtu_bytes": 1500,
    "wire_bytes_per_full_segment": WIRE_BYTES_PER_SEGMENT,
    "queue": f"no queue disc; drop-tail FIFO of {TCP_SETTINGS['queue_packets']} packets per "
             "device (each link direction)",
    "routing": "Ipv4GlobalRoutingHelper (shortest path)",
    "bulk_application": f"BulkSend (SendSize {MSS} B, MaxBytes = flow bytes) -> PacketSink",
    "exchange_application": "one full-duplex TCP connection; each message written as the "
                            "send buffer frees",
    "completion": "simulated time the last byte is delivered to the receiving application",
    "socket_buffers": "SndBufSize = RcvBufSize = buffer_settings_bytes[run], every socket",
}
"""Human-readable settings recorded in every golden."""


def find_ns3(python: str) -> tuple[str, Path]:
    """Return (version, install root) of the ``ns3`` package seen by interpreter ``python``."""
    code = ("import importlib.metadata as m, json; d = m.distribution('ns3'); "
            "print(json.dumps({'version': d.version, 'root': str(d.locate_file('ns3'))}))")
    try:
        out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"cannot find the ns3 package with {python!r} ({exc}); see "
                 "benchmarks/ns3/README.md for the setup, or set NS3_PYTHON")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    root = Path(info["root"])
    if not (root / "include" / "ns3").is_dir():
        sys.exit(f"{root} has no include/ns3: this ns3 package ships no C++ headers")
    return str(info["version"]), root


def _compile_definitions(libdir: Path) -> list[str]:
    """The preprocessor definitions ns-3 was built with (read from its CMake config)."""
    targets = libdir / "cmake" / "ns3" / "ns3Targets.cmake"
    defs = ["NS3_BUILD_PROFILE_RELEASE", "NS3_LOG_ENABLE", "NS3_ASSERT_ENABLE"]
    if targets.is_file():
        for line in targets.read_text().splitlines():
            if "INTERFACE_COMPILE_DEFINITIONS" in line:
                found = line.split('"', 1)[1].rsplit('"', 1)[0].split(";")
                defs = [d for d in found if d.startswith("NS3_")]
                break
    return [f"-D{d}" for d in defs]


def build(root: Path) -> Path:
    """Compile ``ns3_cases.cc`` against the ns-3 under ``root`` (only when needed)."""
    libdir = next((root / d for d in ("lib64", "lib") if (root / d).is_dir()), None)
    if libdir is None:
        sys.exit(f"{root} has no lib64/ or lib/ directory")
    core = sorted(libdir.glob("libns3*-core*.so"))
    if not core:
        sys.exit(f"no libns3*-core.so in {libdir}")
    prefix = core[0].name[len("lib"):].split("-core")[0]  # e.g. "ns3.44"
    modules = ["applications", "point-to-point", "traffic-control", "internet", "network",
               "core"]
    binary = BUILD / "ns3_cases"
    cmd = [os.environ.get("CXX", "g++"), "-std=c++20", "-O2", *_compile_definitions(libdir),
           "-I", str(root / "include"), str(SOURCE), "-o", str(binary),
           "-Wl,--no-as-needed", "-L", str(libdir), *[f"-l{prefix}-{m}" for m in modules],
           f"-Wl,-rpath,{libdir}"]
    stamp = BUILD / "ns3_cases.cmd"
    line = shlex.join(cmd)
    if (binary.exists() and stamp.exists() and stamp.read_text() == line
            and binary.stat().st_mtime >= SOURCE.stat().st_mtime):
        return binary
    BUILD.mkdir(exist_ok=True)
    print(f"compiling {SOURCE.name} ...", flush=True)
    subprocess.run(cmd, check=True)
    stamp.write_text(line)
    return binary


def spec_text(case: Case, buffer_bytes: int) -> str:
    """The line-format input of ``ns3_cases.cc`` for one case at one buffer size."""
    index = {name: i for i, name in enumerate(case["nodes"])}
    settings = {**TCP_SETTINGS, "sndbuf": buffer_bytes, "rcvbuf": buffer_bytes}
    lines = [f"set {k} {v}" for k, v in settings.items()]
    lines.append(f"nodes {len(case['nodes'])}")
    for link in case["links"]:
        lines.append(f"link {index[link['a']]} {index[link['b']]} {int(link['rate_bps'])} "
                     f"{round(link['delay_s'] * 1e9)}")
    for f in case["flows"]:
        lines.append(f"flow {f['id']} {index[f['src']]} {index[f['dst']]} {int(f['bytes'])} "
                     f"{round(f['start_s'] * 1e9)}")
    for e in case["exchanges"]:
        msgs = " ".join(f"{index[m['src']]} {index[m['dst']]} {int(m['bytes'])}"
                        for m in e["messages"])
        lines.append(f"exchange {e['id']} {round(e['start_s'] * 1e9)} {len(e['messages'])} "
                     f"{msgs}")
    for text in [*(f["id"] for f in case["flows"]), *(e["id"] for e in case["exchanges"])]:
        if not text or any(c.isspace() for c in text):
            raise ValueError(f"ids must be non-empty without spaces: {text!r}")
    lines.append("end")
    return "\n".join(lines) + "\n"


def _seconds(ns: int) -> float:
    """Integer nanoseconds to seconds."""
    return ns / 1e9


def run_case(binary: Path, case: Case, buffer_bytes: int) -> dict[str, Any]:
    """Run one case at one buffer size in its own ns-3 process and parse its results."""
    out = subprocess.run([str(binary)], input=spec_text(case, buffer_bytes), check=True,
                         capture_output=True, text=True).stdout
    names = case["nodes"]
    flows, messages, links, exchange_retx, node_drops = [], [], [], {}, {}
    for line in out.splitlines():
        kind, *f = line.split()
        if kind == "flow":
            fid, start, first, done, rx, retx = f[0], *map(int, f[1:])
            spec = next(x for x in case["flows"] if x["id"] == fid)
            if done < 0 or rx != spec["bytes"]:
                raise RuntimeError(f"{case['name']}: flow {fid} did not complete ({rx} B)")
            flows.append({"id": fid, "src": spec["src"], "dst": spec["dst"], "bytes": rx,
                          "start_s": _seconds(start), "first_byte_s": _seconds(first),
                          "completion_s": _seconds(done), "duration_s": _seconds(done - start),
                          "goodput_bps": rx * 8 / _seconds(done - start),
                          "retransmissions": retx})
        elif kind == "msg":
            eid, k, src, dst, nbytes, start, done = f[0], *map(int, f[1:])
            if done < 0:
                raise RuntimeError(f"{case['name']}: message {k} of {eid} did not complete")
            messages.append({"exchange": eid, "index": k, "src": names[src],
                             "dst": names[dst], "bytes": nbytes, "start_s": _seconds(start),
                             "completion_s": _seconds(done),
                             "duration_s": _seconds(done - start),
                             "goodput_bps": nbytes * 8 / _seconds(done - start)})
        elif kind == "exchange":
            exchange_retx[f[0]] = int(f[1])
        elif kind == "linkdir":
            li, src, dst, pkts, nbytes, drops, maxq = map(int, f)
            link = case["links"][li]
            links.append({"link": li, "from": names[src], "to": names[dst],
                          "rate_bps": link["rate_bps"], "delay_s": link["delay_s"],
                          "tx_packets": pkts, "tx_bytes": nbytes, "drops": drops,
                          "max_queue_packets": maxq})
        elif kind == "nodedrops" and int(f[1]):
            node_drops[names[int(f[0])]] = int(f[1])
    if len(flows) != len(case["flows"]):
        raise RuntimeError(f"{case['name']}: {len(flows)} flow results for "
                           f"{len(case['flows'])} flows")
    return {"sndbuf_bytes": buffer_bytes, "rcvbuf_bytes": buffer_bytes, "flows": flows,
            "messages": messages, "exchange_retransmissions": exchange_retx,
            "drops": sum(x["drops"] for x in links) + sum(node_drops.values()),
            "drops_per_node": node_drops, "links": links}


def golden(binary: Path, version: str, case: Case) -> dict[str, Any]:
    """The golden document of one case: its description, settings and both runs."""
    runs = {label: run_case(binary, case, nbytes) for label, nbytes in BUFFER_SETTINGS.items()}
    return {"case": case, "generator": "benchmarks/ns3/run_ns3.py (see its README.md)",
            "ns3_version": version, "settings": SETTINGS_DOC,
            "buffer_settings_bytes": dict(BUFFER_SETTINGS), "runs": runs}


def loss_warnings(doc: dict[str, Any]) -> list[str]:
    """Drops or retransmissions in a golden (the cases are meant to be loss-free)."""
    out = []
    for label, run in doc["runs"].items():
        retx = sum(f["retransmissions"] for f in run["flows"])
        retx += sum(run["exchange_retransmissions"].values())
        if run["drops"] or retx:
            out.append(f"{label} buffers: {run['drops']} drops, {retx} retransmissions")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="CASE", help="run only these cases")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--jobs", type=int, default=1, help="cases run in parallel")
    parser.add_argument("--python", default=os.environ.get(
        "NS3_PYTHON", str(HERE / ".venv" / "bin" / "python")),
        help="interpreter with the ns3 package (default $NS3_PYTHON or .venv)")
    args = parser.parse_args(argv)
    cases = CASES
    if args.only:
        unknown = set(args.only) - {c["name"] for c in CASES}
        if unknown:
            parser.error(f"unknown cases: {sorted(unknown)}")
        cases = [c for c in CASES if c["name"] in args.only]
    t0 = time.perf_counter()
    version, root = find_ns3(args.python)
    binary = build(root)
    t_build = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)

    def one(case: Case) -> tuple[str, float, list[str]]:
        start = time.perf_counter()
        doc = golden(binary, version, case)
        (args.out / f"{case['name']}.json").write_text(json.dumps(doc, indent=1) + "\n")
        return case["name"], time.perf_counter() - start, loss_warnings(doc)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, wall, warnings in pool.map(one, cases):
            print(f"{name:28s} {wall:6.2f} s", flush=True)
            for text in warnings:
                print(f"  warning: {text}", flush=True)
    total = time.perf_counter() - t0
    print(f"ns-3 {version}: {len(cases)} cases x {len(BUFFER_SETTINGS)} buffer settings in "
          f"{total:.1f} s (discovery and compilation {t_build:.1f} s) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
