"""The independent SCIM checker, scim2-tester, against a running server.

    python check.py <base URL of /scim/v2> <SCIM token> [tag,tag,...]

Prints one JSON object: every check's status, title and reason, for a Rust test to judge
(tests/tests/integration/scim.rs). Its packages are pinned in requirements.txt, installed into
tests/scim/.venv by .ci/run.
"""

import json
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server

base, token = sys.argv[1], sys.argv[2]
tags = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
client = SyncSCIMClient(
    httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
)
results = check_server(client, include_tags=tags)
print(
    json.dumps(
        [
            {"status": result.status.name, "title": result.title, "reason": result.reason}
            for result in results
        ]
    )
)
