"""Replay an ns-3 golden case (``tests/golden_ns3``) through snakesim's fabric.

Each golden holds a case (nodes, links, flows, message exchanges) and, per socket-buffer
setting, ns-3's completion time of every flow and message. `replay` builds the same
topology as an explicit snakesim topology, sends the same bytes at the same times
through the fabric (an exchange sends each message once the previous one has arrived,
as its ns-3 application does) and returns snakesim's completion times, so the caller can
set them beside ns-3's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snakesim.config import validate_scenario
from snakesim.network import build_fabric
from snakesim.sim import World

GOLDENS = Path(__file__).resolve().parents[1] / "golden_ns3"


def goldens() -> dict[str, dict[str, Any]]:
    """Every golden, by case name."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(GOLDENS.glob("*.json"))}


def replay(golden: dict[str, Any], setting: str, network: dict[str, Any]) -> dict[str, float]:
    """snakesim's completion time (s) of each flow id and message ``<exchange>#<index>``."""
    case = golden["case"]
    buffer = golden["buffer_settings_bytes"][setting]
    scenario = validate_scenario({
        "name": case["name"].replace("_", "-"), "strategy": {"name": "snake"},
        "topology": {"kind": "explicit", "nodes": case["nodes"], "edges": [
            {"between": [link["a"], link["b"]], "latency": link["delay_s"],
             "bandwidth": link["rate_bps"]} for link in case["links"]]},
        "network": {**network, "tcp": {**network.get("tcp", {}), "buffer": buffer}}})
    world = World(0)
    fabric = build_fabric(world, scenario)
    env, done = world.env, {}

    def flow(spec: dict[str, Any]) -> Any:
        yield env.timeout(spec["start_s"])
        yield fabric.send(spec["src"], spec["dst"], spec["bytes"], kind="flow", round=0)
        done[spec["id"]] = float(env.now)

    def exchange(spec: dict[str, Any]) -> Any:
        yield env.timeout(spec["start_s"])
        for i, message in enumerate(spec["messages"]):
            yield fabric.send(message["src"], message["dst"], message["bytes"],
                              kind="message", round=i)
            done[f"{spec['id']}#{i}"] = float(env.now)

    for spec in case["flows"]:
        env.process(flow(spec))
    for spec in case["exchanges"]:
        env.process(exchange(spec))
    env.run()
    return done


def reference(golden: dict[str, Any], setting: str) -> dict[str, tuple[float, float, int]]:
    """ns-3's ``(start, completion, bytes)`` of each flow id and message, as `replay` names
    them."""
    run = golden["runs"][setting]
    out = {f["id"]: (f["start_s"], f["completion_s"], f["bytes"]) for f in run["flows"]}
    for m in run["messages"]:
        out[f"{m['exchange']}#{m['index']}"] = (m["start_s"], m["completion_s"], m["bytes"])
    return out


def errors(golden: dict[str, Any], setting: str,
           network: dict[str, Any]) -> dict[str, tuple[float, float, float, int]]:
    """Per flow: ``(ns-3 duration, snakesim duration, relative error, bytes)``.

    Durations run from the flow's start (a message's: from the previous one's arrival in
    ns-3, and likewise in snakesim), so an early error in an exchange is not counted again
    in every later message.
    """
    ours = replay(golden, setting, network)
    ref = reference(golden, setting)
    out = {}
    previous_ours: dict[str, float] = {}
    for key, (start, end, nbytes) in ref.items():
        exchange, _, index = key.partition("#")
        begin = start
        if index:
            begin = previous_ours.get(exchange, start) if int(index) else start
            previous_ours[exchange] = ours[key]
        theirs = end - start
        mine = ours[key] - begin
        out[key] = (theirs, mine, mine / theirs - 1, nbytes)
    return out
