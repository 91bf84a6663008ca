"""``python -m benchmark report``: a static HTML site of a results folder (see :mod:`benchmark.report.site`)."""
from benchmark.report.site import SiteSummary, build_site

__all__ = ["SiteSummary", "build_site"]
