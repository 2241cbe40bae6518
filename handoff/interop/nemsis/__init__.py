"""NEMSIS 3.5.1 EMSDataSet export of pre-hospital encounters (docs/interop.md, "NEMSIS").

`builder.dataset_bytes(records)` writes the XML from `record.PcrInput`s (no Django);
`source.pcr_input(encounter)` maps an encounter onto one; `validate.validate` runs the
official XSD and Schematron over the result.
"""
