"""The demo's config: the shipped config.yaml pointed at the loopback sandboxes, and the secrets they expect.

Why apart from the replay: which URL, CA bundle and credential each source, ERP, delivery channel, the VIES check,
the ECB feed and the Entra sign-in take is wiring, not the month's story; the replay (``services.demo.month``) only
asks for the finished config and environment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from config import Settings
from sandbox import entra, ingram, partner_center, pax8, storage_account, vies
from sandbox import entra_signin as entra_people
from sandbox.scenario_microsoft import scenario
from sandbox.smtp_catcher import SmtpCatcher
from services.demo.delivery import delivery_config
from services.demo.erp import demo_erp

# Source kind -> sandbox; ERP kind -> sandbox
SOURCE_SANDBOX = {"partner_center": "partner_center", "azure_costs": "cost_management", "pax8": "pax8",
                  "ingram_cmp": "ingram"}
# A month replayed in minutes compresses the vendors' quota windows with it: Cost Management's hourly query budget
# (600 QPU) and its per-scope limit would otherwise stall the replay, and Exact Online's minute never ends on the
# replay's held clock (the export and the payments after it all fall in one sandbox minute, 60 calls); the
# throttling and pacing themselves are exercised by the connector tests.
REPLAY_SANDBOX_OPTIONS = {"sandbox.cost_management": {"qpu_buckets": (("QueriesPer10Sec", 1000, 1.0),),
                                                      "entity_buckets": (("QueriesPerMin", 1000, 1.0),)},
                          "sandbox.exact_online": {"per_minute": 1000}}


def sandbox_options(settings: Settings) -> dict[str, dict[str, Any]]:
    """The replay's sandbox options, and the SOAP sandbox publishing the posting codeunit under the name config.yaml
    gives it (``erp.post_codeunit.service``), as the reseller's BC would."""
    options: dict[str, dict[str, Any]] = dict(REPLAY_SANDBOX_OPTIONS)
    names = sorted({t.erp.post_codeunit.service for t in settings.tenants
                    if t.erp.kind == "bc_soap" and t.erp.post_codeunit is not None})
    if names:
        options["sandbox.bc_soap"] = {"post_codeunit": names[0]}
    return options


def demo_config(data: dict[str, Any], urls: dict[str, str], ca_bundle: Path, directory: Path, seed: int,
                month: dt.date, mail: SmtpCatcher | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The base config with sources, ERPs, delivery (with ``mail``) and exchange rates pointed at the sandboxes, and
    the environment holding their secrets."""
    env: dict[str, str] = {}
    authority = f"{urls['entra']}/{entra.CREDENTIALS['tenant_id']}"
    microsoft = {"client_id": entra.CREDENTIALS["client_id"], "client_secret": entra.CREDENTIALS["client_secret"]}
    data = dict(data)
    data["database"] = {"url": f"sqlite:///{(directory / 'cspbill.db').resolve()}", "url_env": None}
    sources = []
    for source in data.get("sources", []):
        source = dict(source, ca_bundle=str(ca_bundle), base_url=urls[SOURCE_SANDBOX[source["kind"]]])
        kind = source["kind"]
        if kind in ("partner_center", "azure_costs"):
            source["authority_url"] = authority
            source["account_id"] = ("partner-tenant" if kind == "partner_center"
                                    else scenario(seed, month).billing_account_id)
            if kind == "partner_center":
                source["graph_base_url"] = (urls["partner_center"].removesuffix(partner_center.PREFIX)
                                            + partner_center.GRAPH_BASE)
            env[source["client_id_env"]], env[source["client_secret_env"]] = (microsoft["client_id"],
                                                                                microsoft["client_secret"])
            if source.get("mode") == "exports":  # the container the sandbox's Cost Management exports are written to
                env[source["storage_sas_url_env"]] = (f"{urls['storage_account']}/{storage_account.ACCOUNT}/"
                                                      f"{storage_account.CREDENTIALS['container']}?"
                                                      f"{storage_account.SAS_TOKEN}")
        elif kind == "pax8":
            source["token_url"] = f"{source['base_url']}/token"
            env[source["client_id_env"]] = pax8.CREDENTIALS["client_id"]
            env[source["client_secret_env"]] = pax8.CREDENTIALS["client_secret"]
        elif kind == "ingram_cmp":
            source["token_url"] = f"{source['base_url']}/token"
            source["account_id"] = ingram.CREDENTIALS["marketplace"]
            env[source["client_id_env"]] = ingram.CREDENTIALS["username"]
            env[source["client_secret_env"]] = ingram.CREDENTIALS["password"]
            env[source["api_key_env"]] = ingram.CREDENTIALS["subscription_key"]
        sources.append(source)
    data["sources"] = sources
    tenants = []
    for tenant in data["tenants"]:
        tenant = dict(tenant, erp=demo_erp(tenant.get("erp") or {"kind": "none"}, urls, ca_bundle, authority,
                                           microsoft, env))
        if mail is not None:
            tenant["delivery"] = delivery_config(tenant, urls, ca_bundle, mail, env)
        tenants.append(tenant)
    data["tenants"] = tenants
    if mail is not None and data.get("notifications"):  # notifications to finance go to the catcher too
        data["notifications"] = dict(data["notifications"], enabled=True, smtp={
            "host": mail.host, "port": mail.port, "starttls": False, "from": "cspbill@reseller.example"})
    if mail is not None and data.get("payments"):  # reminders go to the SMTP catcher like the invoices
        data["payments"] = dict(data["payments"], reminders={**(data["payments"].get("reminders") or {}),
                                                             "enabled": True})
    if data.get("fx"):
        data["fx"] = dict(data["fx"], base_url=urls["ecb"], ca_bundle=str(ca_bundle))
    if data.get("vies"):
        data["vies"] = dict(data["vies"], wsdl_url=f"{urls['vies']}{vies.WSDL_PATH}", ca_bundle=str(ca_bundle))
    entra_signin = (data.get("auth") or {}).get("entra")
    if entra_signin:  # people sign in with Microsoft at the Entra sandbox (its desk app registration)
        data["auth"] = dict(data["auth"], entra=dict(entra_signin, authority=authority, ca_bundle=str(ca_bundle),
                                                     tenant_id=entra.TENANT_ID,
                                                     client_id=entra_people.DESK_APP["client_id"]))
        if entra_signin.get("client_secret_env"):
            env[entra_signin["client_secret_env"]] = entra_people.DESK_APP["client_secret"]
    return data, env
