"""Tests of the ERP adapters, their sandboxes and the e-invoice files."""
