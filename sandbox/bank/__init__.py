"""A bank as far as cspbill sees one: statement files it would hand a customer (camt.053), written from plain data."""
