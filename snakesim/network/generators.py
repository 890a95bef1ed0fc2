"""Topology generators: graphs built from a few parameters instead of listed edges.

`tiered_edges` builds a tree of tiers (cloud - edge servers - base stations -
devices), each tier linked to its parent by a named link technology
(`snakesim.network.presets`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from snakesim.config.schema import LinksSpec, TieredTopology, tier_names
from snakesim.errors import ConfigurationError
from snakesim.network.presets import LINKS


def tiered_edges(topology: TieredTopology,
                 links: LinksSpec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Parent-child links of a tiered topology with their attributes.

    Each child links to the ``i // count``-th node of the tier above. A tier's ``link``
    preset sets latency, bandwidth and the technology's outage process; the tier's own
    ``latency``/``bandwidth`` win over it; without either the ``links`` defaults apply.
    ``links`` of a tier name exceptions per child node.
    """
    names = tier_names(topology)
    for level, tier in enumerate(topology.tiers[1:], start=1):
        unknown = sorted(set(tier.links) - set(names[level]))
        if unknown:
            raise ConfigurationError(
                f"topology.tiers.{level}.links: unknown node of tier {tier.name} "
                f"(got {', '.join(unknown)})")
        for i, child in enumerate(names[level]):
            parent = names[level - 1][i // tier.count]
            preset = tier.links.get(child, tier.link)
            tech = LINKS[preset] if preset is not None else None
            latency = (tier.latency if tier.latency is not None
                       else tech.latency_s if tech else links.latency)
            bandwidth = (tier.bandwidth if tier.bandwidth is not None
                         else tech.bandwidth_bps if tech else links.bandwidth)
            yield parent, child, {"latency": float(latency), "bandwidth": float(bandwidth),
                                  "technology": preset or "",
                                  "outage": tech.outage if tech else None}
