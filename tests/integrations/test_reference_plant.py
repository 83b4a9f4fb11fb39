"""The reference ERP/MES's own contract (the one reconciliation and outside checks rely on)."""

import subprocess
import sys

import pytest

from integrations.delivery import message_body, signed_headers
from tests.integrations.reference_peer import ROOT, Peer


def post(peer, system, topic, data, key):
    from datetime import UTC, datetime

    body = message_body(key=key, topic=topic, created_at=datetime.now(UTC), payload=data)
    headers = signed_headers(secret=peer.secrets[system], key=key, body=body)
    return peer.call("POST", f"/{system}/messages", raw=body.encode(), headers=headers)


def test_a_clerks_put_changes_the_view_and_the_lists_filter_by_status(peer):
    assert post(peer, "erp", "lot.held", {"lot": "LOT-1", "quantity": "5"}, "m1")[0] == 200
    status, lot = peer.call("PUT", "/erp/lots/LOT-1", {"status": "released"})
    assert status == 200 and lot["status"] == "released" and lot["messages"] == ["m1"]
    assert peer.get("/erp/lots?status=on_hold") == {"lots": []}
    assert [x["code"] for x in peer.get("/erp/lots?status=released")["lots"]] == ["LOT-1"]

    status, order = peer.call(
        "PUT", "/erp/orders/SO-1", {"status": "completed", "due_at": "2026-12-02T10:00:00Z"}
    )
    assert status == 200
    assert {k: order[k] for k in ("number", "status", "due_at", "quantity")} == {
        "number": "SO-1", "status": "completed", "due_at": "2026-12-02T10:00:00Z",
        "quantity": None,
    }  # fmt: skip
    assert [o["number"] for o in peer.get("/erp/orders?status=completed")["orders"]] == ["SO-1"]
    assert post(
        peer, "erp", "order.status_changed", {"order": "SO-1", "status": "in_production"}, "m2"
    )[1] == {"status": "applied", "id": "m2"}
    assert peer.get("/erp/orders/SO-1")["status"] == "in_production"


def test_sequences_and_messages_of_the_mes(peer):
    data = {"line": "L1", "jobs": ["WO-2", "WO-1"]}
    assert post(peer, "mes", "sequence.approved", data, "s1")[0] == 200
    assert post(peer, "mes", "sequence.approved", data, "s1")[1]["status"] == "duplicate"
    sequence = peer.get("/mes/lines/L1/sequence")
    assert sequence["line"] == "L1" and sequence["jobs"] == ["WO-2", "WO-1"]
    assert sequence["received_at"]
    assert [s["line"] for s in peer.get("/mes/lines")["lines"]] == ["L1"]
    mes = peer.messages("mes")
    assert [m["id"] for m in mes["messages"]] == ["s1"] and mes["duplicates"] == 1
    assert peer.messages("erp")["count"] == 0  # the two systems are apart


def test_a_split_creates_the_new_lot_and_keeps_both_quantities(peer):
    post(peer, "erp", "lot.held", {"lot": "LOT-1", "quantity": "10"}, "m1")
    split = {"lot": "LOT-1", "new_lot": "LOT-1-A", "quantity": "6", "new_quantity": "4"}
    post(peer, "erp", "lot.split", split, "m2")
    assert peer.get("/erp/lots/LOT-1")["quantity"] == "6"
    new = peer.get("/erp/lots/LOT-1-A")
    assert (new["status"], new["quantity"], new["messages"]) == ("on_hold", "4", ["m2"])


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/erp/lots/LOT-1", {"status": "lost"}, "status"),
        ("PUT", "/erp/lots/LOT-1", {"quantity": "5"}, "status"),
        ("PUT", "/erp/lots/LOT-1", {"status": "on_hold", "colour": "red"}, "colour"),
        ("PUT", "/erp/orders/SO-1", {}, "body"),
        ("PUT", "/erp/orders/SO-1", {"status": ["a"]}, "status"),
        ("PUT", "/erp/orders/SO-1", [1], "body"),
        ("POST", "/control", {"mode": "explode"}, "mode"),
        ("POST", "/control", {"mode": "fail", "system": "crm"}, "system"),
        ("POST", "/control", {"mode": "fail", "status": 200}, "status"),
        ("POST", "/control", {"mode": "slow", "delay_ms": -1}, "delay_ms"),
        ("POST", "/control", {"mode": "ok", "speed": 1}, "speed"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(peer, method, path, body, field):
    status, answer = peer.call(method, path, body)
    assert (status, answer["field"]) == (400, field), answer


def test_unknown_things_are_404_and_not_json_is_400(peer):
    assert peer.call("GET", "/erp/lots/NOPE")[0] == 404
    assert peer.call("GET", "/erp/orders/NOPE")[0] == 404
    assert peer.call("GET", "/mes/lines/L9/sequence")[0] == 404
    assert peer.call("GET", "/crm/lots")[0] == 404
    assert peer.call("PUT", "/erp/lots/X", raw=b"{nope")[1]["field"] == "body"
    assert peer.call("DELETE", "/erp/messages")[0] == 405


def test_fail_answers_the_chosen_status_until_told_ok(peer):
    peer.control(system="mes", mode="fail", status=502)
    assert post(peer, "mes", "lot.held", {"lot": "L"}, "f1")[0] == 502
    assert post(peer, "erp", "lot.held", {"lot": "L"}, "f2")[0] == 200  # only MES fails
    peer.control(system="mes", mode="ok")
    assert post(peer, "mes", "lot.held", {"lot": "L"}, "f1")[0] == 200
    assert peer.messages("mes")["count"] == 1


def test_the_journal_survives_a_restart(tmp_path):
    store = str(tmp_path / "plant.jsonl")
    first = Peer(store=store)
    try:
        post(first, "erp", "lot.held", {"lot": "LOT-1", "quantity": "5"}, "m1")
        first.call("PUT", "/erp/orders/SO-1", {"status": "cancelled"})
        secrets = first.secrets
    finally:
        first.stop()
    second = Peer(store=store)
    second.secrets = secrets
    try:
        assert second.get("/erp/lots/LOT-1")["messages"] == ["m1"]
        assert second.get("/erp/orders/SO-1")["status"] == "cancelled"
    finally:
        second.stop()


def test_it_refuses_to_start_without_secrets():
    result = subprocess.run(
        [sys.executable, "manage.py", "run_reference_plant", "--port", "18599", "--store", ""],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "plantcoord.settings",
             "VAR_DIR": str(ROOT / "var" / "test")},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no secret for erp, mes" in result.stderr
