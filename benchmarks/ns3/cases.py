"""The ns-3 reference cases for snakesim's network model (issue #11, item 5), as plain data.

Each case is a JSON-serialisable dict; ``run_ns3.py`` feeds it to ns-3 and copies it
verbatim into ``tests/golden_ns3/<name>.json`` (key ``case``), so a test can feed the very
same description to snakesim without importing this module. Keys:

* ``name``: file name of the golden; ``description``: one line for humans;
* ``nodes``: node names (every node is both a host and a router);
* ``links``: ``{"a", "b", "rate_bps", "delay_s"}``: a full-duplex point-to-point link,
  ``rate_bps`` bit/s in each direction (line rate; every packet carries 1448 B of payload
  in 1502 B on the wire, see README), ``delay_s`` the one-way propagation delay;
* ``flows``: ``{"id", "src", "dst", "bytes", "start_s"}``: one TCP connection opened at
  ``start_s`` (SYN sent then) that carries ``bytes`` of payload from ``src`` to ``dst``;
  its completion is the instant the last byte reaches the receiving application;
* ``exchanges``: ``{"id", "start_s", "messages": [{"src", "dst", "bytes"}, ...]}``: one
  persistent full-duplex TCP connection between two nodes (opened at ``start_s`` by the
  first message's sender); message 0 is handed to the socket at ``start_s``, message
  k + 1 at the instant message k has been completely delivered to its receiver.

Sizes are decimal (1 MB = 10**6 bytes). Routing is shortest path (ns-3 global routing);
all the topologies here are trees, so every route is unique.
"""

from __future__ import annotations

from typing import Any

Case = dict[str, Any]

MB = 1_000_000
KB = 1_000
MBPS = 1_000_000
GBPS = 1_000_000_000


def _link(a: str, b: str, rate_bps: int, delay_s: float) -> dict[str, Any]:
    """One full-duplex point-to-point link."""
    return {"a": a, "b": b, "rate_bps": rate_bps, "delay_s": delay_s}


def _flow(fid: str, src: str, dst: str, nbytes: int, start_s: float = 0.0) -> dict[str, Any]:
    """One TCP bulk transfer."""
    return {"id": fid, "src": src, "dst": dst, "bytes": nbytes, "start_s": start_s}


def _case(name: str, description: str, nodes: list[str], links: list[dict[str, Any]],
          flows: list[dict[str, Any]] | None = None,
          exchanges: list[dict[str, Any]] | None = None) -> Case:
    """Assemble a case dict with every key present."""
    return {"name": name, "description": description, "nodes": nodes, "links": links,
            "flows": flows or [], "exchanges": exchanges or []}


def single_link(nbytes: int, label: str) -> Case:
    """Case 1: one flow on one 100 Mbps, 5 ms link."""
    return _case(f"single_link_{label}", f"one {label} flow on one 100 Mbps, 5 ms link",
                 ["a", "b"], [_link("a", "b", 100 * MBPS, 5e-3)],
                 [_flow("a->b", "a", "b", nbytes)])


def multi_hop(name: str, rates_bps: list[int], description: str) -> Case:
    """Case 2: one 10 MB flow over a chain of hops of 5 ms each."""
    nodes = [f"n{i}" for i in range(len(rates_bps) + 1)]
    links = [_link(nodes[i], nodes[i + 1], r, 5e-3) for i, r in enumerate(rates_bps)]
    return _case(name, description, nodes, links,
                 [_flow(f"{nodes[0]}->{nodes[-1]}", nodes[0], nodes[-1], 10 * MB)])


def converging(n_clients: int) -> Case:
    """Case 3: clients upload 5 MB each to a server through one shared server link."""
    clients = [f"c{i}" for i in range(n_clients)]
    links = [_link(c, "router", 100 * MBPS, 2e-3) for c in clients]
    links.append(_link("router", "server", 100 * MBPS, 5e-3))
    flows = [_flow(f"{c}->server", c, "server", 5 * MB) for c in clients]
    return _case(f"converging_{n_clients}",
                 f"{n_clients} clients (100 Mbps, 2 ms access links) each upload 5 MB at t=0 "
                 "to a server behind one shared 100 Mbps, 5 ms link",
                 [*clients, "router", "server"], links, flows)


def parking_lot() -> Case:
    """Case 4: one long flow over a 3-link chain plus one one-hop flow on each link."""
    nodes = ["r0", "r1", "r2", "r3"]
    links = [_link(nodes[i], nodes[i + 1], 100 * MBPS, 5e-3) for i in range(3)]
    flows = [_flow("r0->r3", "r0", "r3", 10 * MB)]
    flows += [_flow(f"{nodes[i]}->{nodes[i + 1]}", nodes[i], nodes[i + 1], 10 * MB)
              for i in range(3)]
    return _case("parking_lot",
                 "chain r0-r1-r2-r3 of 100 Mbps, 5 ms links; one 10 MB flow r0->r3 and one "
                 "10 MB one-hop flow on each link, all starting at t=0",
                 nodes, links, flows)


def long_fat_pipe() -> Case:
    """Case 5: 1 Gbps, 50 ms one way, 100 MB."""
    return _case("long_fat_pipe",
                 "one 100 MB flow on one 1 Gbps, 50 ms (one way) link",
                 ["a", "b"], [_link("a", "b", GBPS, 50e-3)],
                 [_flow("a->b", "a", "b", 100 * MB)])


def tiered_tree() -> Case:
    """Case 6: cloud - 2 edges - 2 base stations each - 3 devices each; up and down 1 MB."""
    nodes = ["cloud"]
    links = []
    devices = []
    for e in range(2):
        edge = f"edge{e}"
        nodes.append(edge)
        links.append(_link("cloud", edge, 10 * GBPS, 10e-3))
        for b in range(2):
            bs = f"bs{e}{b}"
            nodes.append(bs)
            links.append(_link(edge, bs, GBPS, 2e-3))
            for d in range(3):
                dev = f"dev{e}{b}{d}"
                nodes.append(dev)
                devices.append(dev)
                links.append(_link(bs, dev, 100 * MBPS, 1e-3))
    flows = [_flow(f"{d}->cloud", d, "cloud", MB) for d in devices]
    flows += [_flow(f"cloud->{d}", "cloud", d, MB) for d in devices]
    return _case("tiered_tree",
                 "cloud -(10 Gbps, 10 ms)- 2 edges -(1 Gbps, 2 ms)- 2 base stations each "
                 "-(100 Mbps, 1 ms)- 3 devices each; at t=0 every device uploads 1 MB to the "
                 "cloud and the cloud sends 1 MB to every device (24 flows)",
                 nodes, links, flows)


def bidirectional() -> Case:
    """Case 7: 10 MB each way at once on one 100 Mbps, 5 ms link."""
    return _case("bidirectional",
                 "10 MB a->b and 10 MB b->a at t=0 (two connections) on one 100 Mbps, 5 ms link",
                 ["a", "b"], [_link("a", "b", 100 * MBPS, 5e-3)],
                 [_flow("a->b", "a", "b", 10 * MB), _flow("b->a", "b", "a", 10 * MB)])


def split_learning_exchange(rounds: int = 20, nbytes: int = 200 * KB) -> Case:
    """Case 8: back-to-back request/reply messages on one persistent connection."""
    messages = []
    for _ in range(rounds):
        messages.append({"src": "client", "dst": "server", "bytes": nbytes})
        messages.append({"src": "server", "dst": "client", "bytes": nbytes})
    return _case("split_learning_exchange",
                 f"{rounds} rounds on one persistent TCP connection over one 100 Mbps, 5 ms "
                 f"link: client sends {nbytes // KB} kB; once it is fully received the server "
                 f"replies {nbytes // KB} kB; once that is fully received the client sends "
                 "the next request",
                 ["client", "server"], [_link("client", "server", 100 * MBPS, 5e-3)],
                 exchanges=[{"id": "client<->server", "start_s": 0.0, "messages": messages}])


CASES: list[Case] = [
    single_link(100 * KB, "100kB"),
    single_link(MB, "1MB"),
    single_link(10 * MB, "10MB"),
    multi_hop("multi_hop_equal", [100 * MBPS] * 3,
              "one 10 MB flow over 3 hops of 100 Mbps, 5 ms each"),
    multi_hop("multi_hop_bottleneck", [100 * MBPS, 20 * MBPS, 100 * MBPS],
              "one 10 MB flow over 3 hops of 5 ms each: 100, 20 (bottleneck), 100 Mbps"),
    converging(2),
    converging(10),
    parking_lot(),
    long_fat_pipe(),
    tiered_tree(),
    bidirectional(),
    split_learning_exchange(),
]
"""Every case, in the order the goldens are generated."""

BUFFER_SETTINGS: dict[str, int] = {
    "large": 64 * 1024 * 1024,
    "small": 128 * 1024,
}
"""Socket buffer settings: ``SndBufSize`` = ``RcvBufSize`` = this many bytes, per socket."""
