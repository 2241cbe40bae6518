"""Handoff reference data: receiving hospitals and their emergency departments."""

from __future__ import annotations

from django.db import models

from config.fields import ChoiceListField, coordinate_constraint, latitude_field, longitude_field


class HospitalCapability(models.TextChoices):
    """NEMSIS eDisposition.23 hospital capabilities (abridged; ../shared/REFERENCE.md)."""

    GENERAL = "general", "General hospital"
    STROKE_ACUTE_READY = "stroke_acute_ready", "Stroke centre: acute-stroke-ready"
    STROKE_PRIMARY = "stroke_primary", "Stroke centre: primary"
    STROKE_THROMBECTOMY = "stroke_thrombectomy", "Stroke centre: thrombectomy-capable"
    STROKE_COMPREHENSIVE = "stroke_comprehensive", "Stroke centre: comprehensive"
    STEMI_PCI = "stemi_pci", "STEMI: PCI-capable"
    STEMI_PCI_24_7 = "stemi_pci_24_7", "STEMI: PCI-capable 24/7"
    STEMI_NON_PCI = "stemi_non_pci", "STEMI: non-PCI"
    TRAUMA_1 = "trauma_1", "Trauma centre level 1"
    TRAUMA_2 = "trauma_2", "Trauma centre level 2"
    TRAUMA_3 = "trauma_3", "Trauma centre level 3"
    TRAUMA_4 = "trauma_4", "Trauma centre level 4"
    TRAUMA_5 = "trauma_5", "Trauma centre level 5"
    BURN = "burn", "Burn centre"
    PEDIATRIC = "pediatric", "Pediatric centre"
    NEONATAL = "neonatal", "Neonatal centre"
    OBSTETRICS = "obstetrics", "Obstetrics"
    BEHAVIOURAL_HEALTH = "behavioural_health", "Behavioural health"


class EDStatus(models.TextChoices):
    OPEN = "open", "Open"
    DIVERSION = "diversion", "On diversion"


class Hospital(models.Model):
    """A receiving hospital; its emergency department takes handoffs."""

    name = models.CharField(max_length=160, unique=True)
    code = models.SlugField(max_length=32, unique=True)
    address = models.CharField(max_length=200, blank=True)
    # The ambulance entrance of the ED, which is where drive times end.
    lat = latitude_field()
    lon = longitude_field()
    capabilities = ChoiceListField(item_choices=HospitalCapability)
    ed_status = models.CharField(max_length=16, choices=EDStatus.choices, default=EDStatus.OPEN)
    diversion_reason = models.CharField(max_length=200, blank=True)
    ed_status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            coordinate_constraint("hospital"),
            models.CheckConstraint(
                condition=models.Q(ed_status__in=EDStatus.values), name="hospital_ed_status_valid"
            ),
            # Crews choosing a destination need to know why an ED is closed to them.
            models.CheckConstraint(
                condition=~models.Q(ed_status=EDStatus.DIVERSION) | ~models.Q(diversion_reason=""),
                name="hospital_diversion_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name
