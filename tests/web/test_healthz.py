"""`GET /healthz` for monitoring: no login, database reachable and migrated to every head, on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from config import Settings
from config.loader import parse_settings
from desk.web.app import create_app
from services.operations import initialise
from tests.conftest import demo_config_data


def test_healthy_after_init(settings: Settings) -> None:
    initialise(settings)
    response = TestClient(create_app(settings)).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["database"] and body["migrations_at_head"]
    assert body["revisions"] == body["heads"]


@pytest.mark.empty_ledger
def test_not_migrated_is_unhealthy(settings: Settings) -> None:
    response = TestClient(create_app(settings)).get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] is True and response.json()["migrations_at_head"] is False


def test_unreachable_database_is_unhealthy_without_leaking_the_url(tmp_path) -> None:
    data = demo_config_data()
    data["database"] = {"url": "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none", "url_env": None}
    settings = parse_settings(data, tmp_path / "config.yaml")
    response = TestClient(create_app(settings)).get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] is False
    assert "secret-pw" not in response.text
