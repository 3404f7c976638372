"""APScheduler wiring for the unattended side: nightly sync, monthly draft batches, export retries.

Jobs call ``services`` only. The wiring (job store in the ledger database, cron triggers from config, a database
lease so two instances never run one job at once) lands with the scheduler issue; until then `cspbill jobs` and
`cspbill serve` say so instead of pretending to schedule anything.
"""
