"""Existing SDK code that passes a Microsoft Entra credential, as Microsoft's samples do
(`Workspace(..., credential=ClientSecretCredential(tenant_id, client_id, client_secret))`), against an openqio that
accepts Entra ID tokens (OPENQIO_ENTRA_*). The credential is azure-identity's own ClientSecretCredential doing a
real client-credentials exchange; only `authority` and `disable_instance_discovery` point it at the test's local
issuer instead of login.microsoftonline.com. Run inside .venv-sdk; prints `SDK-RESULT <json>` last.
"""
from __future__ import annotations

import os

from sdk_common import Checks, error_summary, require_environment, solve_seed, workspace_kwargs

require_environment()

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.quantum import Workspace  # noqa: E402

checks = Checks()


def credential(client_id: str, secret: str) -> ClientSecretCredential:
    return ClientSecretCredential(os.environ["ENTRA_TEST_TENANT"], client_id, secret,
                                  authority=os.environ["ENTRA_TEST_AUTHORITY"], disable_instance_discovery=True)


with checks.check("client_secret_credential") as d:
    ws = Workspace(**workspace_kwargs(),
                   credential=credential(os.environ["ENTRA_TEST_CLIENT_ID"], os.environ["ENTRA_TEST_CLIENT_SECRET"]))
    job = solve_seed(ws, "EntraFlow")
    details = ws.get_job(job.id).details
    d["job_id"] = job.id
    d["urls"] = [details.container_uri, details.input_data_uri, details.output_data_uri]
    d["listed"] = job.id in [j.id for j in ws.list_jobs()]

with checks.check("unmapped_principal") as d:
    ws = Workspace(**workspace_kwargs(),
                   credential=credential(os.environ["ENTRA_TEST_STRANGER_ID"], os.environ["ENTRA_TEST_STRANGER_SECRET"]))
    try:
        ws.list_jobs()
    except HttpResponseError as exc:
        d.update(error_summary(exc))
    else:
        raise AssertionError("an unmapped principal listed the workspace's jobs")

checks.emit()
