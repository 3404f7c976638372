"""Loopback servers that speak each vendor's real wire contract, so the production connectors run unchanged.

Imports nothing of the product (import-linter checks it): a sandbox is a stand-in for the outside world.
"""
