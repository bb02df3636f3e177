"""Reports and exports built from a case: VICS export (HTML / JSON / CSV reports later)."""

from vigil.reports.vics_export import export_vics

__all__ = ["export_vics"]
