"""FHIR R4 document Bundle for one pre-hospital encounter (see docs/interop.md).

The output is a plain dict (JSON-ready), FHIR R4 (4.0.1) shaped as an IHE mPSC document,
validated against the official R4 JSON schema (`validation`) and, in the tests, the R4
cardinalities, FHIRPath invariants and vital-signs profiles (test_fhir_invariants.py,
test_fhir_r4.py). Codes come from `handoff.clinical.vocabulary.VITALS`, so a LOINC code is
written down once.

Resource ids are UUIDv5 of (encounter id, kind, row id): re-sending the same encounter
gives the same fullUrls, so a receiver can match an updated document to the last one.

One module per group of resources:

- `composition`: `encounter_bundle`, the Composition, its sections and the Bundle.
- `participants`: Patient, the receiving Organization and Location, Encounter, authors.
- `observations`: vitals sets, GCS, NEWS2, estimated age.
- `clinical`: Conditions, allergies, medications (current and given), procedures, team
  activations.
- `codes`: the code systems, codes and units (shared with HL7 v2).
- `_builder`: the bundle builder and the small datatypes.
- `validation`: `schema_issues`, the R4 JSON schema check (also for inbound resources).
"""

from __future__ import annotations

from handoff.interop.fhir.composition import encounter_bundle

__all__ = ["encounter_bundle"]
