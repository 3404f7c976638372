"""Azure Blob Storage stand-in: the storage account a partner's Cost Management exports are delivered to.

Served at the root (``PREFIX = ""``) with path-style URLs as the Azurite emulator uses them,
``https://127.0.0.1:P/{account}/{container}``, so the same ``azure-storage-blob`` ``ContainerClient`` built from a
container SAS URL reads it and the real ``https://{account}.blob.core.windows.net/{container}``. Implements List
Blobs (``restype=container&comp=list``, ``prefix``, ``marker``, ``maxresults``, ``NextMarker``) and Get Blob (whole or
ranged), each checked against a service SAS (``sv``, ``sr``, ``sp``, ``se``, ``sig``): a missing, expired or wrongly
signed token is the documented 403 ``AuthenticationFailed`` XML error, a token without the permission 403
``AuthorizationPermissionMismatch``. ``CREDENTIALS`` carries a long-valid container token (``sas_token``) for people
and the demo.

Fault knobs: the core ``status`` / ``delay`` / ``drop`` on ``GET /{account}/{container}`` and on blob paths (a 404
with ``x-ms-error-code: BlobNotFound`` makes a manifest name a missing blob); on blob paths ``drop_column``
(``body={"column": name}``: the partition lacks that column) and ``wrong_value`` (``body={"column": name, "value":
text}``: the first row carries that text).
"""

from sandbox.cost_management.export_files import export_format
from sandbox.storage_account.sas import container_token
from sandbox.storage_account.service import ACCOUNT, ACCOUNT_KEY, CREDENTIALS, PREFIX, SAS_TOKEN, build

__all__ = ["ACCOUNT", "ACCOUNT_KEY", "CREDENTIALS", "PREFIX", "SAS_TOKEN", "build", "container_token", "export_format"]
