"""Small lxml helpers for writing NEMSIS elements, their NOT values and pertinent negatives."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from lxml import etree

from handoff.interop.document import require_aware

NS: Final = "http://www.nemsis.org"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP: Final = {None: NS, "xsi": XSI}


def sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    """Append `<name>` (in the NEMSIS namespace) with `text` and attributes."""
    element = etree.SubElement(parent, f"{{{NS}}}{name}", attrib=attrs or None)
    if text is not None:
        element.text = text
    return element


def nil(parent: etree._Element, name: str, nv: str) -> etree._Element:
    """An element with no value: xsi:nil and the NOT value saying why."""
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    element.set(f"{{{XSI}}}nil", "true")
    element.set("NV", nv)
    return element


def negative(parent: etree._Element, name: str, pn: str) -> etree._Element:
    """An element with no value and a pertinent negative (PN) instead."""
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    element.set(f"{{{XSI}}}nil", "true")
    element.set("PN", pn)
    return element


def value_or_nil(parent: etree._Element, name: str, value: str | None, nv: str) -> etree._Element:
    return sub(parent, name, value) if value not in (None, "") else nil(parent, name, nv)


def when(value: datetime, name: str) -> str:
    """A NEMSIS dateTime: seconds and an explicit offset (UTC)."""
    return require_aware(value, name).replace(microsecond=0).isoformat()


def time_or_nil(parent: etree._Element, name: str, value: datetime | None, nv: str) -> None:
    if value is None:
        nil(parent, name, nv)
    else:
        sub(parent, name, when(value, name))


def number(value: float) -> str:
    """A decimal as NEMSIS writes it: no exponent, no trailing '.0'."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10f}".rstrip("0").rstrip(".")
