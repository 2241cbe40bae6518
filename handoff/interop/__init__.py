"""Exports of a pre-hospital encounter: FHIR R4 document Bundle, HL7 v2.5 ADT, delivery.

Pure functions over the dataclasses of `document.py`, plus the HTTP and MLLP clients; no
Django models. See docs/interop.md for the mappings.
"""
