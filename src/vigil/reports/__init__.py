"""Reports and exports built from a case: VICS, md5sum, hashdeep and CSV hash lists and GeoJSON /
KML places with their provenance, and the self-contained HTML / JSON case report."""

from vigil.reports.exports import FORMATS, Exported, export_case
from vigil.reports.vics_export import export_vics

__all__ = ["FORMATS", "Exported", "export_case", "export_vics"]
