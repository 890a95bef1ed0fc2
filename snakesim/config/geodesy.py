"""Great-circle distances between points given in degrees of latitude and longitude.

Backbone maps (the Internet Topology Zoo, SNDlib as shipped by topohub) give node
positions, not link delays; a link's propagation delay follows from the distance
between its ends. The haversine formula on a sphere of the Earth's mean radius is
within 0.5 % of the ellipsoidal (WGS-84) distance, far below what a fibre's route
adds over the straight path.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
"""The Earth's mean radius (IUGG), in metres."""


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points given in degrees.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Latitudes in [-90, 90] and longitudes in [-180, 180], degrees.

    Returns
    -------
    float
        The distance along the sphere's surface, in [0, pi * `EARTH_RADIUS_M`].
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half = (math.sin((phi2 - phi1) / 2) ** 2
            + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    # Rounding can push `half` a hair past 1 for antipodal points; asin needs <= 1.
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, half))))
