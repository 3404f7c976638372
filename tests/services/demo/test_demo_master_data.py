"""The demo's master-data file: every entry passes the desk's validation, the German entity's customers in FR, AT,
BE and NL carry VAT ids that pass their checksums (reverse charge), one German public customer has a Leitweg-ID, and
the channels are mixed."""

from __future__ import annotations

import yaml

from rating.vat import vat_id_problem
from services.demo.customers import DATA
from services.desk.master_data import parse_changes


def test_the_file_is_what_the_desk_would_accept() -> None:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    channels = set()
    for entity, customers in data.items():
        for reference, fields in customers.items():
            parsed = parse_changes(0, {name: str(value) for name, value in fields.items()})
            assert vat_id_problem(parsed["country"], parsed["vat_id"]) is None, (entity, reference)
            channels.add(parsed["delivery_channel"])
            if parsed["delivery_channel"] == "peppol":
                assert parsed["peppol_id"], reference
            if parsed["delivery_channel"] == "email":
                assert parsed["email"], reference
    assert channels == {"email", "peppol", "erp"}
    german = data["de-gmbh"]
    assert {fields["country"] for fields in german.values() if fields.get("vat_id")} >= {"FR", "AT", "BE", "NL"}
    assert [ref for ref, fields in german.items() if fields.get("leitweg_id") and fields["country"] == "DE"]
