"""Build the ERP adapter a legal entity exports to, from its ``erp`` section in config.yaml.

Why here and not in ``erp_export``: the adapters know nothing of config (they take plain dataclasses), and the outbox
needs a little more than an adapter: the outbox target name, whether to post, and the revenue account the lines go
to. Secrets are read from the environment at the moment of use (``config.schema.secret``) and never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from config import Settings
from config.erp_mapping import RevenueAccounts
from config.schema import ErpTarget as ErpConfig
from config.schema import MissingSecret, Tenant, secret
from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from erp_export.base import ErpExporter
from erp_export.bc_rest import BcRestConfig, BcRestExporter
from erp_export.bc_soap import BcSoapConfig, BcSoapExporter
from erp_export.bc_soap_codeunit import PostCodeunit
from erp_export.exact_online import ExactConfig, ExactOnlineExporter
from erp_export.tryton import TrytonConfig, TrytonExporter
from services.access import Actor, require
from services.errors import BadSetting, NotConfigured
from services.export.erp_mapping import adapter_vat_codes

# The revenue G/L account of licence and Azure lines when the ERP has no item master for them.
DEFAULT_REVENUE_ACCOUNT = RevenueAccounts().default
BC_API_HOST = "api.businesscentral.dynamics.com"
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
MICROSOFT_LOGIN_HOST = "login.microsoftonline.com"
# The ERP's longest possible request, in seconds: a write whose answer we lost may land until then (erp.md §1, §3).
# - bc_rest: "HTTP 504 - Gateway Timeout is returned when a request exceeds 10-minutes execution time"
#   (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-current-limits;
#   the operation timeout of administration/operational-limits-online is 8 minutes, the 10-minute cap is the bound).
# - bc_soap: 8-minute operation timeout online (operational-limits-online); on-premises SOAPServicesOperationTimeout
#   defaults to 10 minutes (administration/server-instance-settings): the longer one.
# - exact_online: Exact documents no server-side request timeout; 15 minutes is a conservative choice, above BC's.
# - tryton: trytond's own request timeout is not bounded by the protocol; its JSON-RPC worker runs a request to the
#   end, so the bound is our read timeout's order: 10 minutes, like BC.
LONGEST_REQUEST = {"bc_rest": 600.0, "bc_soap": 600.0, "exact_online": 900.0, "tryton": 600.0}


@dataclass(frozen=True)
class ErpTarget:
    """One legal entity's ERP as the outbox uses it. ``name`` is the outbox ``target`` column: one row per (name,
    invoice), so switching a tenant to another ERP kind exports its open invoices there afresh."""

    name: str
    exporter: ErpExporter
    post: bool = False
    revenue_account: str = DEFAULT_REVENUE_ACCOUNT  # every line's account unless ``revenue_accounts`` says otherwise
    revenue_accounts: RevenueAccounts | None = None  # per billing type (erp.revenue_account)
    longest_request: float = max(LONGEST_REQUEST.values())  # seconds; see LONGEST_REQUEST
    sweep_days: int = 45  # the duplicate sweep's window

    def accounts(self) -> RevenueAccounts:
        """The revenue account per billing type: the configured ones, else ``revenue_account`` for every line."""
        return self.revenue_accounts or RevenueAccounts(default=self.revenue_account)


def erp_target(settings: Settings, tenant: Tenant) -> ErpTarget:
    """The adapter for ``tenant``; ``BadSetting`` (a ``ValidationFailed``) naming the config key when it cannot be
    built."""
    erp = tenant.erp
    if erp.kind == "none":
        raise BadSetting(f"tenant {tenant.code!r}: erp.kind is 'none', there is no ERP to export to")
    assert erp.base_url is not None  # the schema requires it for every kind but "none"
    try:
        builder = BUILDERS[erp.kind]
        longest = erp.longest_request_seconds
        return ErpTarget(name=erp.kind, exporter=builder(settings, tenant, erp.base_url), post=erp.post_invoices,
                         revenue_account=erp.revenue_account.default, revenue_accounts=erp.revenue_account,
                         longest_request=LONGEST_REQUEST[erp.kind] if longest is None else longest,
                         sweep_days=erp.sweep_days)
    except MissingSecret as exc:
        raise BadSetting(f"tenant {tenant.code!r}: erp credentials: {exc}") from exc


def tenants_with_erp(settings: Settings, who: Actor, tenant: str | None) -> list[Tenant]:
    """``tenant`` (which must have an ERP), or every legal entity ``who`` may see that has one; export role."""
    if tenant is not None:
        require(who, "export", tenant)
        try:
            config = settings.tenant(tenant)
        except KeyError as exc:
            raise NotConfigured(f"tenant {tenant!r}: not in config.yaml tenants") from exc
        if config.erp.kind == "none":
            raise BadSetting(f"tenant {tenant!r}: erp.kind is 'none', there is no ERP to export to")
        return [config]
    require(who, "export")
    return [t for t in settings.tenants if who.can_see(t.code) and t.erp.kind != "none"]


def _bc_soap(settings: Settings, tenant: Tenant, base_url: str) -> ErpExporter:
    """BC SOAP page services: Basic with the web service access key on-premises (``erp.auth: basic``, the default),
    app-only Entra tokens for BC online (``erp.auth: entra``)."""
    erp = tenant.erp
    tokens, username, password = None, None, None
    if erp.auth == "entra":
        tokens = _entra_tokens(settings, tenant, base_url, "bc_soap")
    else:
        username, password = secret(erp.username_env), secret(erp.password_env)
        if not username or not password:
            raise BadSetting(f"tenant {tenant.code!r}: erp.username_env and erp.password_env are required for "
                             "bc_soap with erp.auth basic")
    unit = erp.post_codeunit
    if erp.post_invoices and unit is None:
        raise BadSetting(f"tenant {tenant.code!r}: erp.post_codeunit is required for post_invoices over bc_soap "
                         "(standard BC pages cannot post; name the partner codeunit web service that does)")
    codeunit = None if unit is None else PostCodeunit(unit.service, unit.post_operation,
                                                      unit.posted_lookup_operation, url=unit.url)
    try:
        if codeunit is not None:
            codeunit.address(base_url)  # a base_url the codeunit's URL cannot be derived from fails here
        return BcSoapExporter(BcSoapConfig(
            service_url=base_url, username=username, password=password, vat_groups=adapter_vat_codes(tenant),
            local_currency=tenant.currency, verify=_verify(settings, erp.ca_bundle),
            **_timeout(erp, "operation_timeout"), post_codeunit=codeunit,
            credit_memo_service=erp.credit_memo_service,
        ), tokens.token if tokens else None, on_unauthorized=tokens.invalidate if tokens else None)
    except ValueError as exc:  # base_url is not a page URL the credit memo page's URL can be derived from
        raise BadSetting(f"tenant {tenant.code!r}: erp.base_url: {exc}") from exc


def _bc_rest(settings: Settings, tenant: Tenant, base_url: str) -> ErpExporter:
    """BC API v2.0 with app-only Entra tokens (``erp.auth: entra``, the default and the only kind supported here)."""
    erp = tenant.erp
    if erp.auth == "basic":
        raise BadSetting(f"tenant {tenant.code!r}: erp.auth basic is not supported for bc_rest: the exporter speaks "
                         "BC online's API with Entra tokens (use bc_soap for an on-premises server with a web "
                         "service key)")
    verify = _verify(settings, erp.ca_bundle)
    tokens = _entra_tokens(settings, tenant, base_url, "bc_rest")
    config = BcRestConfig(api_url=base_url, company_name=erp.company, tax_codes=adapter_vat_codes(tenant),
                          verify=verify, **_timeout(erp, "timeout"))
    return BcRestExporter(config, tokens.token, on_unauthorized=tokens.invalidate)


def _entra_tokens(settings: Settings, tenant: Tenant, base_url: str, kind: str) -> TokenProvider:
    """App-only (client credentials) tokens for BC online, API and SOAP alike, for ``erp.scope``."""
    erp = tenant.erp
    client_id, client_secret = secret(erp.client_id_env), secret(erp.client_secret_env)
    if not client_id or not client_secret:
        raise BadSetting(f"tenant {tenant.code!r}: erp.client_id_env and erp.client_secret_env are required for "
                         f"{kind} with erp.auth entra")
    return TokenProvider(f"erp:{tenant.code}", _bc_authority(settings, tenant, base_url), client_id, client_secret,
                         erp.scope, policy=HttpPolicy(verify=_verify(settings, erp.ca_bundle)))


def _bc_authority(settings: Settings, tenant: Tenant, base_url: str) -> str:
    """``erp.authority_url``; else Microsoft's login host for ``erp.tenant_id`` or for the tenant in a BC online URL
    (``https://api.businesscentral.dynamics.com/v2.0/<tenant>/…``); for any other host (a sandbox, a proxy) the
    Entra authority of the configured Microsoft sources, which is the reseller's own tenant in every case."""
    erp = tenant.erp
    if erp.authority_url:
        return erp.authority_url
    if erp.tenant_id:
        return f"https://{MICROSOFT_LOGIN_HOST}/{erp.tenant_id}"
    parts = urlsplit(base_url)
    segments = parts.path.strip("/").split("/")
    if parts.hostname == BC_API_HOST and len(segments) > 1 and segments[0] == "v2.0":
        return f"https://{MICROSOFT_LOGIN_HOST}/{segments[1]}"
    for source in settings.sources:
        if source.kind in ("partner_center", "azure_costs") and source.authority_url:
            return source.authority_url
    raise BadSetting(f"tenant {tenant.code!r}: erp.base_url is not a Business Central API URL and no "
                           "Microsoft source names an Entra authority_url to get its tokens from")


def _exact_online(settings: Settings, tenant: Tenant, base_url: str) -> ErpExporter:
    erp = tenant.erp
    client_id, client_secret = secret(erp.client_id_env), secret(erp.client_secret_env)
    if not client_id or not client_secret or not erp.token_store:
        raise BadSetting(f"tenant {tenant.code!r}: erp.client_id_env, erp.client_secret_env and "
                               "erp.token_store are required for exact_online")
    store = Path(erp.token_store)
    return ExactOnlineExporter(ExactConfig(
        base_url=base_url, client_id=client_id, client_secret=client_secret,
        token_store=store if store.is_absolute() else settings.base_dir / store, document_kind=erp.document_kind,
        vat_codes=adapter_vat_codes(tenant), verify=_verify(settings, erp.ca_bundle), **_timeout(erp, "timeout"),
        connection=f"tenant {tenant.code!r}", reconnect_hint=f"cspbill erp connect --tenant {tenant.code}",
    ))


def _tryton(settings: Settings, tenant: Tenant, base_url: str) -> ErpExporter:
    """Tryton over JSON-RPC: ``erp.company`` is the database, the user and password come from ``username_env`` and
    ``password_env``; ``erp.vat_codes`` names the Tryton taxes."""
    erp = tenant.erp
    username, password = secret(erp.username_env), secret(erp.password_env)
    if not erp.company or not username or not password:
        raise BadSetting(f"tenant {tenant.code!r}: erp.company (the Tryton database), erp.username_env and "
                         "erp.password_env are required for tryton")
    return TrytonExporter(TrytonConfig(url=base_url, database=erp.company, username=username, password=password,
                                       taxes=adapter_vat_codes(tenant), verify=_verify(settings, erp.ca_bundle),
                                       **_timeout(erp, "timeout")))


BUILDERS: dict[str, Callable[[Settings, Tenant, str], ErpExporter]] = {
    "bc_soap": _bc_soap, "bc_rest": _bc_rest, "exact_online": _exact_online, "tryton": _tryton,
}


def _timeout(erp: ErpConfig, name: str) -> dict[str, float]:
    """The configured read timeout under the adapter config's own name for it; nothing keeps the adapter's default."""
    return {} if erp.read_timeout_seconds is None else {name: erp.read_timeout_seconds}


def _verify(settings: Settings, ca_bundle: str | None) -> bool | str:
    if ca_bundle is None:
        return True
    path = Path(ca_bundle)
    return str(path if path.is_absolute() else settings.base_dir / path)
