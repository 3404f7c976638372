"""Reports for finance: margin per customer, product and month; the vendor-invoice check (revenue leakage); MRR,
ARR, churn, expansion and seats over time. Read-only, per legal entity (across entities for a group admin)."""

from services.reports.leakage import LeakageReport, leakage_report
from services.reports.margin import MarginReport, margin_report
from services.reports.mrr import MrrReport, mrr_report
from services.reports.scope import Column, Table

__all__ = ["Column", "LeakageReport", "MarginReport", "MrrReport", "Table", "leakage_report", "margin_report",
           "mrr_report"]
