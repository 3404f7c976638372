"""From a configured source to a reader the nightly sync can call: the right connector, its secrets, its window.

Why a seam here: every connector has its own constructor and entry points (``pull()``, ``pull_licences()``,
recon line items); the sync wants one call, ``read(as_of)``, returning one complete ``PullResult`` (or raising), plus
the trailing usage window the source re-read so restated days can be replaced as a whole. Secrets are read from the
environment variables the config names at the moment of use (``config.schema.secret``) and never logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Protocol

from config import Settings
from config.schema import SourceConfig, secret
from connectors.auth import TokenProvider
from connectors.azure_costs import SCOPE as ARM_SCOPE
from connectors.azure_costs import AzureCosts
from connectors.azure_exports import AzureExports
from connectors.http import HttpPolicy
from connectors.ingram import IngramConnector
from connectors.partner_billing_export import GRAPH_SCOPE, PartnerBillingExport
from connectors.partner_center import SCOPE, PartnerCenter
from connectors.partner_recon import PartnerRecon
from connectors.pax8 import Pax8Connector
from connectors.records import PullResult
from services.errors import BadSetting, NotAvailableYet


@dataclass(frozen=True)
class SourcePull:
    """One complete read: the records, and the usage days it covered (inclusive) when it reads usage."""

    result: PullResult
    usage_window: tuple[dt.date, dt.date] | None = None


class SourceReader(Protocol):
    def read(self, as_of: dt.datetime) -> SourcePull: ...


OpenSource = Callable[[Settings, SourceConfig], SourceReader]


def _required(config: SourceConfig, env_field: str) -> str:
    """The secret behind ``config.<env_field>``; a missing setting fails the source as misconfigured."""
    value = secret(getattr(config, env_field))
    if value is None:
        raise BadSetting(f"sources[{config.name}].{env_field} is not configured")
    return value


def _ca(settings: Settings, config: SourceConfig) -> str | None:
    """The CA bundle path, relative paths resolved against the config file's folder."""
    if not config.ca_bundle:
        return None
    path = settings.base_dir / config.ca_bundle
    return str(path.resolve())


def source_policy(settings: Settings, config: SourceConfig) -> HttpPolicy:
    """The HTTP bounds every connector of ``config``'s source runs with: its retries and backoff from config, and its
    CA bundle (relative to the config file)."""
    return HttpPolicy(retries=config.retries, backoff_factor=config.backoff_seconds,
                      verify=_ca(settings, config) or True)


def _merge(*results: PullResult) -> PullResult:
    return PullResult(
        customers=tuple(c for r in results for c in r.customers),
        licences=tuple(lic for r in results for lic in r.licences),
        usage=tuple(u for r in results for u in r.usage),
        cost_lines=tuple(c for r in results for c in r.cost_lines),
        errors=tuple(e for r in results for e in r.errors),
    )


@dataclass
class PartnerCenterReader:
    """Customers and NCE subscriptions, plus the recon lines of the current, last and recently invoiced periods
    (what Microsoft charges us), each period through the API Microsoft serves it from (``connectors.partner_recon``)."""

    settings: Settings
    config: SourceConfig

    def read(self, as_of: dt.datetime) -> SourcePull:
        config = self.config
        policy = source_policy(self.settings, config)
        if not config.authority_url:
            raise BadSetting(f"sources[{config.name}].authority_url is not configured")
        client_id, client_secret = _required(config, "client_id_env"), _required(config, "client_secret_env")
        tokens = TokenProvider(config.name, config.authority_url, client_id, client_secret, config.scope or SCOPE,
                               policy=policy)
        graph_tokens = TokenProvider(config.name, config.authority_url, client_id, client_secret,
                                     config.graph_scope or GRAPH_SCOPE, policy=policy)
        currency = self.settings.tenant(config.tenant).currency
        connector = PartnerCenter(config.base_url, tokens, account_id=config.account_id or "", currency=currency,
                                  policy=policy, page_size=config.page_size, source=config.name, now=lambda: as_of)
        export = PartnerBillingExport(config.graph_base_url, graph_tokens, policy=policy, source=config.name)
        with closing(connector), closing(export):
            recon = PartnerRecon(connector, export, currency, config.recon_billed_months).read(as_of)
            return SourcePull(_merge(connector.pull(), recon))


@dataclass
class Pax8Reader:
    """Companies and subscriptions, plus the partner invoices of the last 31 days (cost lines)."""

    settings: Settings
    config: SourceConfig

    def read(self, as_of: dt.datetime) -> SourcePull:
        config = self.config
        connector = Pax8Connector(config.base_url, _required(config, "client_id_env"),
                                  _required(config, "client_secret_env"), token_url=config.token_url,
                                  account_id=config.account_id, page_size=config.page_size,
                                  policy=source_policy(self.settings, config), now=lambda: as_of)
        today = as_of.date()
        with closing(connector):
            licences = connector.pull_licences()
            return SourcePull(_merge(licences, connector.pull_cost_lines(today - dt.timedelta(days=31), today)))


@dataclass
class IngramReader:
    """Customers and subscription product lines (client id/secret = the API user, api key = subscription key)."""

    settings: Settings
    config: SourceConfig

    def read(self, as_of: dt.datetime) -> SourcePull:
        config = self.config
        connector = IngramConnector(config.base_url, _required(config, "client_id_env"),
                                    _required(config, "client_secret_env"), _required(config, "api_key_env"),
                                    marketplace=config.account_id or "us", token_url=config.token_url,
                                    page_size=config.page_size, policy=source_policy(self.settings, config),
                                    now=lambda: as_of)
        with closing(connector):
            return SourcePull(connector.pull_licences())


@dataclass
class AzureCostsReader:
    """Daily Azure usage of the billing account's customers, re-reading ``usage_lookback_days`` back to today: through
    the Query API (``mode: query``) or each customer's scheduled Cost Management export (``mode: exports``, for large
    scopes: files in a storage account read through a container SAS URL); both give the same usage rows."""

    settings: Settings
    config: SourceConfig

    def read(self, as_of: dt.datetime) -> SourcePull:
        config = self.config
        if not config.authority_url or not config.account_id:
            raise BadSetting(f"sources[{config.name}]: authority_url and account_id (the billing account) are "
                             "required")
        policy = source_policy(self.settings, config)
        tokens = TokenProvider(config.name, config.authority_url, _required(config, "client_id_env"),
                               _required(config, "client_secret_env"), config.scope or ARM_SCOPE, policy=policy)
        connector = (
            AzureExports(config.base_url, tokens, export_name=config.export_name or "",
                         container_sas_url=_required(config, "storage_sas_url_env"), file_format=config.format,
                         policy=policy, source=config.name)
            if config.mode == "exports"
            else AzureCosts(config.base_url, tokens, policy=policy, source=config.name)
        )
        last = as_of.date()
        first = last - dt.timedelta(days=config.usage_lookback_days)
        with closing(connector):
            return SourcePull(connector.pull(config.account_id, first, last), (first, last))


READERS: dict[str, Callable[[Settings, SourceConfig], SourceReader]] = {
    "partner_center": PartnerCenterReader,
    "pax8": Pax8Reader,
    "ingram_cmp": IngramReader,
    "azure_costs": AzureCostsReader,
}


def open_source(settings: Settings, config: SourceConfig) -> SourceReader:
    """The reader for one configured source; a kind whose connector has not landed says so."""
    factory = READERS.get(config.kind)
    if factory is None:
        raise NotAvailableYet(f"source {config.name!r}: kind {config.kind!r} has no connector yet")
    return factory(settings, config)
