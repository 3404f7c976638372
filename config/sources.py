"""The ``sources`` and ``fx`` sections of config.yaml: the vendor accounts read every night, and where exchange
rates come from.

Why apart from the rest of the schema: these are the outside services the nightly sync calls, each with its URLs,
the *names* of its credential variables and how hard a night insists on it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import Code, EnvName, HttpUrl, Strict

SourceKind = Literal["partner_center", "pax8", "ingram_cmp", "azure_costs"]


class SourceConfig(Strict):
    """One vendor account to read every night."""

    name: Code
    kind: SourceKind
    tenant: Code
    base_url: HttpUrl
    authority_url: HttpUrl | None = None  # Entra authority (Microsoft sources)
    token_url: HttpUrl | None = None  # OAuth token endpoint (Pax8, Ingram)
    scope: str | None = None
    account_id: str | None = None  # partner tenant / marketplace id / billing account
    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None
    api_key_env: EnvName | None = None
    ca_bundle: str | None = None
    page_size: int = Field(100, ge=1, le=5000)
    usage_lookback_days: int = Field(5, ge=0, le=60)
    # Partner Center: recon periods from February 2024 come from Microsoft Graph's billing export
    graph_base_url: HttpUrl = "https://graph.microsoft.com/v1.0"
    graph_scope: str | None = None  # default https://graph.microsoft.com/.default
    recon_billed_months: int = Field(1, ge=0, le=12)  # issued invoices re-read each night, by billing period
    # Azure Cost Management: the Query API for small scopes, each customer's scheduled export for large ones
    mode: Literal["query", "exports"] = "query"
    export_name: str | None = None  # the export's name, the same at every customer scope
    storage_sas_url_env: EnvName | None = None  # env var holding the container SAS URL the exports are delivered to
    format: Literal["Csv", "Parquet"] | None = None  # the format the exports must have; any when not given
    # how long a night insists on a failing request (connectors.http.HttpPolicy): retries after the first attempt,
    # and urllib3's backoff factor (the waits between retries double from it, at most a minute); a vendor's
    # Retry-After is honoured
    retries: int = Field(5, ge=0, le=10)
    backoff_seconds: float = Field(0.5, ge=0, le=30)
    enabled: bool = True
    # desk mutations of this source's subscriptions are applied at the vendor (services.desk.provisioning); off:
    # the desk records them and someone provisions by hand, as before
    provisioning: bool = False

    @model_validator(mode="after")
    def _exports_complete(self) -> SourceConfig:
        if self.mode == "exports":
            if self.kind != "azure_costs":
                raise ValueError("mode: exports is for azure_costs sources only")
            if not self.export_name or not self.storage_sas_url_env:
                raise ValueError("mode: exports needs export_name and storage_sas_url_env")
        return self


class FxConfig(Strict):
    """Where exchange rates come from: the ECB's euro reference rates (``source: ecb``) at ``base_url`` (the ECB
    site, or the sandbox). Without this section nothing is fetched; rates can still be recorded otherwise."""

    source: Literal["ecb"] = "ecb"
    base_url: HttpUrl = "https://www.ecb.europa.eu"
    ca_bundle: str | None = None
    enabled: bool = True
