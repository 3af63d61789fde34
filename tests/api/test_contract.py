"""The HTTP contract: /openapi.json is a valid OpenAPI 3.1 document, and the real server keeps it.

schemathesis generates requests from the published document (valid and invalid ones, at most
30 per operation) and sends them, with an editor's API token, to `artbandit serve` on
127.0.0.1; the run fails on any 5xx, any status the document does not list, and any body or
content type that does not match it.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import requests
from openapi_spec_validator import validate

from api.web.openapi import openapi_document
from artwork.images import encode_image
from artwork.store import Store
from tests.api.conftest import LiveServer
from tests.conftest import make_image

EXAMPLES_PER_OPERATION = 30
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


def test_the_published_document_is_valid_openapi(client):
    doc = client.get("/openapi.json").get_json()
    validate(doc)
    operations = [op for path in doc["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) == 23
    for op in operations:
        assert op["responses"] and all("description" in r for r in op["responses"].values())
    # Every JSON body the server answers with has a schema of its own, not a bare object.
    for name in ("Title", "Artwork", "Job", "Stats", "Choice", "FeedbackRecorded"):
        assert doc["components"]["schemas"][name]["properties"]


def test_the_readme_feedback_shapes_match_the_document():
    from jsonschema import Draft202012Validator

    from api.web.schemas import _local

    doc = openapi_document()
    schema = _local({"$defs": doc["components"]["schemas"], "$ref": "#/$defs/FeedbackBody"})
    check = Draft202012Validator(schema)
    one = {"event_id": "9a06", "kind": "play"}
    for body in (one, [one, {**one, "kind": "click", "value": 0.8}], {"events": [one]}):
        assert not list(check.iter_errors(body)), body
    for body in ({"event_id": "9a06", "kind": "like"}, {"events": []}, [], {"kind": "play"}):
        assert list(check.iter_errors(body)), body


@pytest.fixture
def contract_server(data_dir):
    """The real server on a catalog with a live artwork, and an editor's API token for it."""
    store = Store.open(data_dir)
    store.add_title("night-train", "Night Train", ["thriller"])
    store.add_artwork_image("night-train", encode_image(make_image(1)), name="a.jpg", status="live")
    store.accounts.add_user("robot", "editor", "a long robot password")
    _, token = store.accounts.create_token("robot", "contract test")
    store.close_all()
    server = LiveServer(data_dir)
    yield server, token
    server.stop()


@pytest.mark.slow
def test_the_server_keeps_its_published_contract(contract_server, tmp_path):
    server, token = contract_server
    st = shutil.which("st") or pytest.skip("schemathesis is not installed (the `test` extra)")
    assert requests.get(server.url + "/titles", headers={"Authorization": f"Bearer {token}"}).ok
    run = subprocess.run(
        [st, "run", f"{server.url}/openapi.json", "--url", server.url,
         "-H", f"Authorization: Bearer {token}", "--checks", CHECKS,
         "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "1", "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--generation-database", "none",
         "--request-timeout", "30", "--no-color", "--output-truncate", "true"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated and generated.group(1) == generated.group(2), run.stdout[-3000:]
    assert int(generated.group(1)) >= 15 * 10  # every operation was exercised, many times over
