"""The schema of config.yaml.

Why pydantic: a wrong config must fail at start with one line naming the key path, not deep inside a nightly job.
Secrets are never values here, only the *names* of environment variables (``*_env`` fields); ``secret()`` reads
them at the moment of use.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from config.auth import SCHEDULER, Auth, Clock, ServiceAccount
from config.base import Code, EnvName, Strict
from config.compute import Compute
from config.delivery import DeliveryConfig
from config.desk import DeskConfig
from config.erp_mapping import ErpMappingFields
from config.notifications import NotificationsConfig
from config.parties import SellerDetails
from config.payments import Payments
from config.review import ReviewConfig
from config.sources import FxConfig, SourceConfig
from config.usage import UsageStore
from config.vat import OutsideEu, ViesConfig

Role = Literal["desk", "finance", "approver", "admin"]  # a person's roles (see services.access)
Convention = Literal["microsoft", "actual", "thirty"]
RoundingPolicy = Literal["truncate", "half_up", "half_even"]
ErpKind = Literal["none", "bc_soap", "bc_rest", "exact_online", "tryton"]
Grouping = Literal["customer", "subscription", "environment"]
Percent = Annotated[Decimal, Field(ge=Decimal("-100"), le=Decimal("1000"))]


class MissingSecret(Exception):
    """An environment variable named in config.yaml is not set."""


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment variable named in config; ``None`` when no variable is configured."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise MissingSecret(f"environment variable {env_name} is not set (named in config.yaml)")
    return value


class NumberSeries(Strict):
    """One gapless number series: ``{year}`` and ``{seq}`` (with a format spec) in the pattern, ``first..last``."""

    pattern: str = "{year}-{seq:06d}"
    first: int = Field(1, ge=1)
    last: int = Field(999_999, ge=1)

    @field_validator("pattern")
    @classmethod
    def _has_sequence(cls, value: str) -> str:
        if "{seq" not in value:
            raise ValueError("must contain {seq} (optionally {seq:06d})")
        try:
            value.format(year=2026, seq=1, month=1)
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(f"cannot be formatted: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _range(self) -> NumberSeries:
        if self.last < self.first:
            raise ValueError("last must not be below first")
        return self


class InvoiceNumbering(NumberSeries):
    """Gapless invoice numbers per legal entity. ``credit_notes`` gives credit notes a series of their own (its own
    counter, e.g. ``CN{year}-{seq:05d}``); without it they take the next invoice number, as invoices do."""

    credit_notes: NumberSeries | None = None

    @model_validator(mode="after")
    def _distinct_patterns(self) -> InvoiceNumbering:
        if self.credit_notes is not None and self.credit_notes.pattern == self.pattern:
            raise ValueError("credit_notes.pattern must differ from pattern (the numbers would collide)")
        return self


WebServiceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")]


class PostCodeunit(Strict):
    """bc_soap: the partner codeunit web service that posts (standard BC pages have no Post over SOAP): the name it
    is published under, its post function (takes the draft's page Key, returns the posted no.) and its look-up
    function (takes the document type and the external document no., returns the posted no. or "")."""

    service: WebServiceName
    post_operation: WebServiceName
    posted_lookup_operation: WebServiceName
    url: str | None = None  # default: …/WS/<company>/Codeunit/<service> next to base_url's page


class ErpTarget(ErpMappingFields):
    """One legal entity's ERP: its kind, address and credentials, and where its lines land (``ErpMappingFields``)."""

    kind: ErpKind = "none"
    base_url: str | None = None
    company: str | None = None  # BC: the company name; tryton: the database name
    environment: str | None = None
    post_invoices: bool = False
    document_kind: Literal["SalesEntries", "SalesInvoices"] = "SalesEntries"
    # bc_soap: the Sales Credit Memo page's web service, published next to the invoice page of base_url
    credit_memo_service: WebServiceName = "SalesCreditMemo"
    post_codeunit: PostCodeunit | None = None  # bc_soap: required to post (post_invoices)
    # Business Central: "basic" = user + web service access key (on-premises), "entra" = app-only Entra ID tokens
    # (BC online: access keys stopped working there on 1 October 2022). Default: entra for bc_rest, basic for bc_soap.
    auth: Literal["basic", "entra"] | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None
    tenant_id: str | None = None  # entra: the BC tenant (id or domain); default: from a BC online URL
    authority_url: str | None = None  # entra: the token authority; default: Microsoft's login host for tenant_id
    scope: str = "https://api.businesscentral.dynamics.com/.default"  # entra: BC online, API and SOAP alike
    token_store: str | None = None  # file for rotating refresh tokens (Exact Online)
    # Exact Online: the redirect URI registered for the app; `cspbill erp connect` listens on it when it is a
    # loopback http:// address, the desk when it is the desk's /erp/connect/{tenant}/callback
    redirect_uri: str | None = None
    ca_bundle: str | None = None
    # How long we wait for one answer (default: the adapter's, 60 s REST, 120 s SOAP) and the ERP's longest possible
    # request: after a write with no answer, nothing is created again until a look-up this much later finds nothing
    # (default per kind: services.export.targets.LONGEST_REQUEST, the ERP's documented server-side timeout).
    read_timeout_seconds: Annotated[float, Field(gt=0)] | None = None
    longest_request_seconds: Annotated[float, Field(ge=0)] | None = None
    # The duplicate sweep looks up every invoice sent in this many days (after each export and on schedule)
    sweep_days: Annotated[int, Field(ge=0)] = 45

    @model_validator(mode="after")
    def _url_when_enabled(self) -> ErpTarget:
        if self.kind != "none" and not self.base_url:
            raise ValueError(f"base_url is required for kind {self.kind!r}")
        return self


class RatingPolicy(Strict):
    """How a legal entity's lines are rated.

    ``fx_rate_date`` picks the exchange rate for a line priced in another currency than the tenant's (a USD
    licence on a EUR invoice): ``charge_date`` = the latest rate on or before the line's bill date (for a licence
    billed in advance, the first day of the stretch it charges), ``invoice_date`` = the latest rate on or before the
    last day of the month the line is billed in (the batch month). Either way a credit converts at the rate of the
    line it credits, never at today's.
    """

    convention: Convention = "microsoft"
    rounding: RoundingPolicy = "half_up"
    rounding_per_currency: dict[str, RoundingPolicy] = Field(default_factory=dict)
    price_change: Literal["next_cycle", "prorated", "term"] = "next_cycle"
    fx_rate_date: Literal["charge_date", "invoice_date"] = "charge_date"

    def rounding_for(self, currency: str) -> RoundingPolicy:
        return self.rounding_per_currency.get(currency, self.rounding)


class Tenant(Strict):
    """A legal entity (Mandant): its currency, VAT, invoice numbers, ERP and billing zone."""

    code: Code
    name: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    vat_id: str | None = None
    timezone: str = "UTC"
    vat_rates: dict[str, Decimal] = Field(default_factory=lambda: {"standard": Decimal("21")})
    default_vat_rate: str = "standard"
    invoice_numbers: InvoiceNumbering = InvoiceNumbering()
    grouping: Grouping = "customer"
    erp: ErpTarget = ErpTarget()
    rating: RatingPolicy | None = None
    seller: SellerDetails = SellerDetails()
    delivery: DeliveryConfig | None = None  # invoices to customers by e-mail / Peppol (config.delivery)
    vat_outside_eu: OutsideEu = "not_subject"  # buyers outside the EU: category O, or the standard rate
    review: ReviewConfig | None = None  # change thresholds of the batch review; None: the global review section

    @model_validator(mode="after")
    def _default_rate_known(self) -> Tenant:
        if self.default_vat_rate not in self.vat_rates:
            raise ValueError(f"default_vat_rate {self.default_vat_rate!r} is not one of vat_rates")
        return self


class PriceRule(Strict):
    """A markup on a basis (vendor cost, Microsoft's list or ERP price) or a fixed unit price, matched by tenant,
    product, customer, meter category and/or billing period. Imported into the ledger's price book as one edition
    whenever the list changes; invoiced periods keep the edition they were priced with."""

    tenant: Code | None = None
    product: str | None = None
    customer: str | None = None
    meter_category: str | None = None
    billing: Literal["P1M", "P1Y", "P3Y", "ONE_TIME"] | None = None
    markup_percent: Percent | None = None
    basis: Literal["cost", "list", "erp"] = "cost"
    unit_price: Annotated[Decimal, Field(ge=0)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _one_price(self) -> PriceRule:
        if (self.markup_percent is None) == (self.unit_price is None):
            raise ValueError("set exactly one of markup_percent or unit_price")
        return self


class Schedule(Strict):
    nightly_sync: str = "0 2 * * *"
    monthly_build: str = "0 6 2 * *"
    export_retry: str = "*/15 * * * *"
    duplicate_sweep: str = "30 3 * * *"  # look every recently sent invoice up in its ERP: more than one is a finding
    provisioning: str = "*/20 * * * *"  # desk mutations to the vendor (only when a source has provisioning: true)
    delivery: str = "*/15 * * * *"  # send queued invoice deliveries (e-mail, Peppol) and poll the access point
    notifications: str = "*/5 * * * *"  # send queued notification e-mails (when notifications.enabled)
    payments: str = "45 * * * *"  # applied payments to the ERP and due reminders out (payments.erp, payments.reminders)
    timezone: str = "UTC"
    misfire_grace_seconds: int = Field(3600, ge=1)

    @field_validator("nightly_sync", "monthly_build", "export_retry", "duplicate_sweep", "provisioning", "delivery",
                     "notifications", "payments")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a five-field cron expression (minute hour day month weekday)")
        return value


class User(Strict):
    username: Annotated[str, Field(pattern=r"^[a-z0-9._-]{2,40}$")]
    display_name: str
    roles: list[Role] = Field(min_length=1)
    tenants: list[Code] = Field(default_factory=list)  # empty with role admin = all
    password_hash: str | None = None  # "scrypt$<salt hex>$<hash hex>"; never a plain password
    entra_username: str | None = None  # the Entra ID sign-in name (UPN) that maps onto this user
    language: Literal["en", "nl", "de"] | None = None  # the desk's language for this person (else the browser's)


class Database(Strict):
    url: str = "sqlite:///var/cspbill.db"
    url_env: EnvName | None = "CSPBILL_DATABASE_URL"  # when set in the environment it wins (PostgreSQL password)

    def resolved_url(self, base_dir: Path) -> str:
        """The URL to connect to; relative SQLite paths are relative to the config file's folder."""
        url = os.environ.get(self.url_env) if self.url_env else None
        url = url or self.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
            url = prefix + str((base_dir / url[len(prefix):]).resolve())
        return url


class Web(Strict):
    """Where the desk listens and whom it believes.

    ``trusted_proxies`` (addresses or CIDRs) are the reverse proxies whose ``X-Forwarded-For`` /
    ``X-Forwarded-Proto`` and ``trusted_proxy_header`` (the signed-in name a signing-in proxy adds) are believed; from
    anywhere else those headers are ignored. ``secure_cookies``: unset = ``Secure`` cookies whenever the desk is
    reached over HTTPS (directly or per a trusted proxy's ``X-Forwarded-Proto``); true or false forces it.
    """

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    session_secret_env: EnvName | None = "CSPBILL_SESSION_SECRET"
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    trusted_proxy_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")] | None = None
    secure_cookies: bool | None = None
    # /metrics (Prometheus): open on the desk's address unless this names an env var holding a bearer token
    metrics_token_env: EnvName | None = None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        try:
            return [ip_network(str(item).strip(), strict=False) for item in value]
        except ValueError as exc:
            raise ValueError(f"not an address or CIDR: {exc}") from None

    @model_validator(mode="after")
    def _header_needs_proxies(self) -> Web:
        if self.trusted_proxy_header and not self.trusted_proxies:
            raise ValueError("trusted_proxy_header is set but trusted_proxies is empty: name the proxy's addresses "
                             "(the header is believed only from them)")
        return self


class Settings(Strict):
    """The whole config.yaml."""

    database: Database = Database()
    rating: RatingPolicy = RatingPolicy()
    tenants: list[Tenant] = Field(min_length=1)
    sources: list[SourceConfig] = Field(default_factory=list)
    price_rules: list[PriceRule] = Field(default_factory=list)
    fx: FxConfig | None = None
    vies: ViesConfig = ViesConfig()
    schedule: Schedule = Schedule()
    users: list[User] = Field(default_factory=list)
    service_accounts: list[ServiceAccount] = Field(default_factory=list)
    auth: Auth = Auth()
    clock: Clock = Clock()
    web: Web = Web()
    payments: Payments = Payments()
    notifications: NotificationsConfig = NotificationsConfig()
    desk: DeskConfig = DeskConfig()
    review: ReviewConfig = ReviewConfig()
    usage: UsageStore = UsageStore()
    compute: Compute = Compute()
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _references(self) -> Settings:
        codes = [t.code for t in self.tenants]
        _unique(codes, "tenants", "code")
        _unique([s.name for s in self.sources], "sources", "name")
        _unique([u.username for u in self.users] + [a.name for a in self.service_accounts] + [SCHEDULER],
                "users and service_accounts", "name")
        for i, source in enumerate(self.sources):
            if source.tenant not in codes:
                raise ValueError(f"sources[{i}].tenant: unknown tenant {source.tenant!r}")
        for i, user in enumerate(self.users):
            for code in user.tenants:
                if code not in codes:
                    raise ValueError(f"users[{i}].tenants: unknown tenant {code!r}")
        for i, account in enumerate(self.service_accounts):
            for code in account.tenants:
                if code not in codes:
                    raise ValueError(f"service_accounts[{i}].tenants: unknown tenant {code!r}")
        for i, rule in enumerate(self.price_rules):
            if rule.tenant is not None and rule.tenant not in codes:
                raise ValueError(f"price_rules[{i}].tenant: unknown tenant {rule.tenant!r}")
        for i, account in enumerate(self.payments.accounts):
            if account.tenant not in codes:
                raise ValueError(f"payments.accounts[{i}].tenant: unknown tenant {account.tenant!r}")
        _unique([a.iban for a in self.payments.accounts], "payments.accounts", "iban")
        for i, ladder in enumerate(self.payments.dunning):
            if ladder.tenant not in codes:
                raise ValueError(f"payments.dunning[{i}].tenant: unknown tenant {ladder.tenant!r}")
        _unique([d.tenant for d in self.payments.dunning], "payments.dunning", "tenant")
        for code in self.notifications.recipients:
            if code not in codes:
                raise ValueError(f"notifications.recipients: unknown tenant {code!r}")
        for i, target in enumerate(self.payments.erp):
            if target.tenant not in codes:
                raise ValueError(f"payments.erp[{i}].tenant: unknown tenant {target.tenant!r}")
        _unique([e.tenant for e in self.payments.erp], "payments.erp", "tenant")
        return self

    def tenant(self, code: str) -> Tenant:
        for tenant in self.tenants:
            if tenant.code == code:
                return tenant
        raise KeyError(f"unknown tenant {code!r}")

    def rating_for(self, tenant: Tenant) -> RatingPolicy:
        return tenant.rating or self.rating

    def review_for(self, tenant: Tenant) -> ReviewConfig:
        return tenant.review or self.review

    def database_url(self) -> str:
        return self.database.resolved_url(self.base_dir)


def _unique(values: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{section}: duplicate {key} {value!r}")
        seen.add(value)
