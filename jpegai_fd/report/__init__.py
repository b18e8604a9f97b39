"""`python -m jpegai_fd.report`: the thesis's tables and charts from the tracked runs."""

from jpegai_fd.report.build import write_report
from jpegai_fd.report.runs import load_runs
from jpegai_fd.report.tables import results_table, timing_table

__all__ = ["load_runs", "results_table", "timing_table", "write_report"]
