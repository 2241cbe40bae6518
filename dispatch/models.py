"""Dispatch reference data: centres, stations and units."""

from __future__ import annotations

from django.db import models

from config.fields import ChoiceListField, coordinate_constraint, latitude_field, longitude_field


class DispatchCentre(models.Model):
    """A 112/911/120 emergency medical dispatch centre; dispatchers belong to one."""

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=32, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    """A place units are based at or stand by at (ambulance station, standby point)."""

    centre = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="stations")
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=32, unique=True)
    address = models.CharField(max_length=200, blank=True)
    lat = latitude_field()
    lon = longitude_field()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["centre", "name"], name="station_name_unique_in_centre"
            ),
            coordinate_constraint("station"),
        ]

    def __str__(self) -> str:
        return self.name


class UnitType(models.TextChoices):
    ALS = "ALS", "Advanced life support"
    BLS = "BLS", "Basic life support"


class UnitCapability(models.TextChoices):
    BARIATRIC = "bariatric", "Bariatric"
    NEONATAL = "neonatal", "Neonatal transport"
    PEDIATRIC = "pediatric", "Pediatric equipment"
    MECHANICAL_CPR = "mechanical_cpr", "Mechanical CPR device"
    CRITICAL_CARE = "critical_care", "Critical care transport"
    PHYSICIAN = "physician", "Physician on board"


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    DISPATCHED = "dispatched", "Dispatched"
    EN_ROUTE = "en_route", "En route"
    ON_SCENE = "on_scene", "On scene"
    TRANSPORTING = "transporting", "Transporting"
    AT_DESTINATION = "at_destination", "At destination"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


class Unit(models.Model):
    """An ambulance (or response car) with its crew's tablet."""

    centre = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="units")
    call_sign = models.CharField(max_length=32, unique=True)
    unit_type = models.CharField(max_length=3, choices=UnitType.choices)
    capabilities = ChoiceListField(item_choices=UnitCapability)
    home_station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="units")
    status = models.CharField(
        max_length=20, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE
    )
    last_lat = latitude_field(null=True, blank=True)
    last_lon = longitude_field(null=True, blank=True)
    last_fix_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["call_sign"]
        constraints = [
            coordinate_constraint("unit", "last_lat", "last_lon", nullable=True),
            models.CheckConstraint(
                condition=models.Q(unit_type__in=UnitType.values), name="unit_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=UnitStatus.values), name="unit_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_sign} ({self.unit_type})"
