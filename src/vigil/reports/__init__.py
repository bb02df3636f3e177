"""Reports and exports built from a case: VICS, md5sum, hashdeep and CSV hash lists with their
provenance (HTML / JSON reports later)."""

from vigil.reports.exports import FORMATS, Exported, export_case
from vigil.reports.vics_export import export_vics

__all__ = ["FORMATS", "Exported", "export_case", "export_vics"]
