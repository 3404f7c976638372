"""erp_export package."""
