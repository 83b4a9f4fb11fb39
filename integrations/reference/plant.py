"""The reference plant's store and WSGI app. Contract (README "Reference ERP/MES service"):

- ``POST /{erp|mes}/messages``: Standard Webhooks signature checked with that system's secret
  (401 if bad), de-duplicated on ``webhook-id`` (a repeat answers 200 and changes nothing),
  then applied to the system's view.
- ``GET /erp/lots/{code}``, ``/erp/orders/{number}``, ``/mes/lines/{code}/sequence``, the
  lists ``GET /{system}/lots?status=…``, ``/{system}/orders?status=…``, ``/{system}/lines``,
  and ``GET /{system}/messages`` (every message in arrival order, with ``duplicates``).
- ``PUT /{system}/lots/{code}`` and ``/{system}/orders/{number}``: a clerk's change by hand;
  ``PUT /mes/lines/{code}/sequence`` ``{"jobs": [job numbers]}``: a shift lead reorders the line.
- ``POST /control`` ``{"system", "mode": ok|fail|slow|reset, "status", "delay_ms"}``.

Every accepted message and every clerk's change is appended to a JSON-lines journal (replayed
on start), so the peer's view survives a restart; ``--store ''`` keeps it in memory only.
"""

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from standardwebhooks import Webhook

SYSTEMS = ("erp", "mes")
MODES = ("ok", "fail", "slow", "reset")
LOT_STATUSES = ("available", "on_hold", "released", "rework", "scrapped", "used_as_is")
ORDER_FIELDS = ("status", "due_at", "quantity")
MAX_BODY = 1024 * 1024
# What a message does to a lot's status (the lot.* topics of coordination/outbox.py).
LOT_STATUS_BY_TOPIC = {"lot.held": "on_hold", "lot.reworked": "rework", "lot.scrapped": "scrapped"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class BadInput(Exception):
    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field, self.detail = field, detail


class View:
    """One system's picture: the messages it got and what they (or a clerk) made of it."""

    def __init__(self):
        self.messages: list[dict] = []
        self.seen: set[str] = set()
        self.duplicates = 0
        self.lots: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.lines: dict[str, dict] = {}

    def lot(self, code: str) -> dict:
        return self.lots.setdefault(
            code,
            {"code": code, "status": "available", "quantity": None, "messages": [],
             "updated_at": None},
        )  # fmt: skip

    def order(self, number: str) -> dict:
        return self.orders.setdefault(
            number,
            {"number": number, "status": None, "due_at": None, "quantity": None,
             "updated_at": None},
        )  # fmt: skip

    def apply(self, message: dict, at: str) -> None:
        self.messages.append(message)
        self.seen.add(message["id"])
        topic, data = message.get("type", ""), message.get("data") or {}
        if topic.startswith("lot.") and isinstance(data.get("lot"), str):
            lot = self.lot(data["lot"])
            lot["messages"].append(message["id"])
            lot["updated_at"] = at
            if "quantity" in data:
                lot["quantity"] = data["quantity"]
            if topic == "lot.released":
                use_as_is = data.get("disposition") == "use_as_is"
                lot["status"] = "used_as_is" if use_as_is else "released"
            elif topic in LOT_STATUS_BY_TOPIC:
                lot["status"] = LOT_STATUS_BY_TOPIC[topic]
            elif topic == "lot.split" and isinstance(data.get("new_lot"), str):
                new = self.lot(data["new_lot"])
                new.update(status=lot["status"], quantity=data.get("new_quantity"), updated_at=at)
                new["messages"].append(message["id"])
        elif topic.startswith("order.") and isinstance(data.get("order"), str):
            order = self.order(data["order"])
            for field in ORDER_FIELDS:
                if field in data:
                    order[field] = data[field]
            order["updated_at"] = at
        elif topic == "sequence.approved" and isinstance(data.get("line"), str):
            self.lines[data["line"]] = {
                "line": data["line"],
                "jobs": list(data.get("jobs") or []),
                "received_at": at,
            }

    def put(self, kind: str, key: str, body: dict, at: str) -> dict:
        if kind == "lines":
            row = self.lines.setdefault(key, {"line": key, "jobs": [], "received_at": None})
            row["jobs"] = [
                {"job": job, "sequence": (i + 1) * 10} for i, job in enumerate(body["jobs"])
            ]
            row["updated_at"] = at
            return row
        row = self.lot(key) if kind == "lots" else self.order(key)
        row.update(body)
        row["updated_at"] = at
        return row


class Plant:
    """Both systems' views, their misbehaviour modes, the secrets and the journal."""

    def __init__(self, *, secrets: dict[str, str], store: str | None = None):
        missing = [s for s in SYSTEMS if not secrets.get(s)]
        if missing:
            raise ValueError(f"no secret for {', '.join(missing)}")
        self.webhooks = {system: Webhook(secret) for system, secret in secrets.items()}
        self.lock = threading.Lock()
        self.views = {system: View() for system in SYSTEMS}
        self.modes = {system: {"mode": "ok", "status": 503, "delay_ms": 0} for system in SYSTEMS}
        self.path = Path(store) if store else None
        self.journal = None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                for line in self.path.read_text().splitlines():
                    if line.strip():
                        self._replay(json.loads(line))
            self.journal = self.path.open("a", buffering=1)

    def _replay(self, entry: dict) -> None:
        view = self.views[entry["system"]]
        if entry["op"] == "message":
            view.apply(entry["message"], entry["at"])
        elif entry["op"] == "put":
            view.put(entry["kind"], entry["key"], entry["body"], entry["at"])
        elif entry["op"] == "duplicate":
            view.duplicates += 1
        elif entry["op"] == "reset":
            self.views[entry["system"]] = View()

    def _record(self, entry: dict) -> None:
        """Apply and journal one change (under ``self.lock``)."""
        self._replay(entry)
        if self.journal:
            self.journal.write(json.dumps(entry, separators=(",", ":")) + "\n")

    # --- the endpoints' work ----------------------------------------------------------------

    def receive(self, system: str, body: bytes, headers: dict) -> tuple[int, dict]:
        mode = self.modes[system]
        if mode["mode"] == "fail":
            return mode["status"], {"error": f"{system} is failing on purpose (POST /control)"}
        try:
            self.webhooks[system].verify(body, headers)
        except Exception as exc:  # the package raises several kinds on a bad header
            return 401, {"error": f"signature refused: {exc}"}
        try:
            message = json.loads(body)
        except ValueError:
            return 400, {"field": "body", "error": "not JSON"}
        if not isinstance(message, dict) or set(message) != {"type", "id", "timestamp", "data"}:
            return 400, {"field": "body", "error": "must be {type, id, timestamp, data}"}
        message_id = headers.get("webhook-id", "")
        with self.lock:
            view = self.views[system]
            if message_id in view.seen:
                self._record({"op": "duplicate", "system": system, "id": message_id})
                return 200, {"status": "duplicate", "id": message_id}
            at = _now()
            stored = {**message, "id": message_id, "received_at": at}
            self._record({"op": "message", "system": system, "message": stored, "at": at})
        if mode["mode"] == "slow":
            time.sleep(mode["delay_ms"] / 1000)  # applied first: the sender may time out
        return 200, {"status": "applied", "id": message_id}

    def control(self, body: dict) -> dict:
        if not isinstance(body, dict):
            raise BadInput("body", "must be a JSON object")
        unknown = sorted(set(body) - {"system", "mode", "status", "delay_ms"})
        if unknown:
            raise BadInput(unknown[0], "unknown field")
        system = body.get("system")
        if system is not None and system not in SYSTEMS:
            raise BadInput("system", f"must be one of {', '.join(SYSTEMS)}")
        mode = body.get("mode")
        if mode not in MODES:
            raise BadInput("mode", f"must be one of {', '.join(MODES)}")
        status = body.get("status", 503)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise BadInput("status", "must be an HTTP error status, 400-599")
        delay = body.get("delay_ms", 5000)
        if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 600_000:
            raise BadInput("delay_ms", "must be an integer from 0 to 600000")
        with self.lock:
            for name in (system,) if system else SYSTEMS:
                if mode == "reset":
                    self._record({"op": "reset", "system": name, "at": _now()})
                    self.modes[name] = {"mode": "ok", "status": 503, "delay_ms": 0}
                else:
                    self.modes[name] = {"mode": mode, "status": status, "delay_ms": delay}
            return {name: dict(self.modes[name]) for name in SYSTEMS}

    def put(self, system: str, kind: str, key: str, body) -> dict:
        if not isinstance(body, dict) or not body:
            raise BadInput("body", "must be a non-empty JSON object")
        if kind == "lines":
            jobs = body.get("jobs")
            if set(body) != {"jobs"} or not isinstance(jobs, list):
                raise BadInput("jobs", "required: a list of job numbers, and nothing else")
            if not all(isinstance(job, str) and 0 < len(job) <= 40 for job in jobs):
                raise BadInput("jobs", "each a job number (a string of 1 to 40 characters)")
            return self._put_recorded(system, kind, key, body)
        allowed = ("status", "quantity") if kind == "lots" else ORDER_FIELDS
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise BadInput(unknown[0], f"unknown field; one of {', '.join(allowed)}")
        if kind == "lots":
            if "status" not in body:
                raise BadInput("status", "required")
            if body["status"] not in LOT_STATUSES:
                raise BadInput("status", f"must be one of {', '.join(LOT_STATUSES)}")
        for field, value in body.items():
            if value is not None and not isinstance(value, str | int | float):
                raise BadInput(field, "must be a string or a number")
        return self._put_recorded(system, kind, key, body)

    def _put_recorded(self, system: str, kind: str, key: str, body: dict) -> dict:
        with self.lock:
            at = _now()
            self._record(
                {"op": "put", "system": system, "kind": kind, "key": key, "body": body, "at": at}
            )
            return dict(self._rows(system, kind)[key])

    def _rows(self, system: str, kind: str) -> dict[str, dict]:
        return getattr(self.views[system], kind)

    def get(self, system: str, kind: str, key: str) -> dict | None:
        with self.lock:
            row = self._rows(system, kind).get(key)
            return json.loads(json.dumps(row)) if row is not None else None

    def listing(self, system: str, kind: str, status: str | None) -> list[dict]:
        with self.lock:
            rows = [json.loads(json.dumps(r)) for r in self._rows(system, kind).values()]
        return [r for r in rows if status is None or r.get("status") == status]

    def messages(self, system: str) -> dict:
        with self.lock:
            view = self.views[system]
            return {
                "messages": [dict(m) for m in view.messages],
                "count": len(view.messages),
                "duplicates": view.duplicates,
            }


def make_app(plant: Plant):
    """The WSGI app over one ``Plant``."""

    def app(environ, start_response):
        method = environ["REQUEST_METHOD"]
        parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
        query = dict(
            pair.split("=", 1) if "=" in pair else (pair, "")
            for pair in environ.get("QUERY_STRING", "").split("&")
            if pair
        )
        try:
            status, body = route(plant, method, parts, query, environ)
        except BadInput as exc:
            status, body = 400, {"field": exc.field, "error": exc.detail}
        payload = json.dumps(body).encode()
        start_response(
            f"{status} {STATUS_TEXT.get(status, 'Status')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    return app


STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
               405: "Method Not Allowed", 413: "Payload Too Large", 429: "Too Many Requests",
               500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
               504: "Gateway Timeout"}  # fmt: skip
KINDS = {"lots": "lots", "orders": "orders", "lines": "lines"}


def _read(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise BadInput("body", f"over {MAX_BODY} bytes")
    return environ["wsgi.input"].read(length) if length else b""


def _json(environ):
    try:
        return json.loads(_read(environ) or b"null")
    except ValueError:
        raise BadInput("body", "not JSON") from None


def route(plant: Plant, method: str, parts: list[str], query: dict, environ) -> tuple[int, dict]:
    if parts == ["healthz"]:
        return 200, {"ok": True}
    if parts == ["control"]:
        if method != "POST":
            return 405, {"error": "POST only"}
        return 200, plant.control(_json(environ))
    if not parts or parts[0] not in SYSTEMS:
        return 404, {"error": "no such path"}
    system, rest = parts[0], parts[1:]
    if rest == ["messages"]:
        if method == "POST":
            headers = {
                name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
                for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
            }
            return plant.receive(system, _read(environ), headers)
        if method == "GET":
            return 200, plant.messages(system)
        return 405, {"error": "GET or POST"}
    if len(rest) == 1 and rest[0] in KINDS and method == "GET":
        return 200, {rest[0]: plant.listing(system, rest[0], query.get("status") or None)}
    if len(rest) == 3 and rest[0] == "lines" and rest[2] == "sequence":
        if method == "PUT":
            return 200, plant.put(system, "lines", rest[1], _json(environ))
        if method != "GET":
            return 405, {"error": "GET or PUT"}
        row = plant.get(system, "lines", rest[1])
        return (200, row) if row else (404, {"error": f"no sequence for line {rest[1]}"})
    if len(rest) == 2 and rest[0] in ("lots", "orders"):
        if method == "GET":
            row = plant.get(system, rest[0], rest[1])
            if row is None:
                return 404, {"error": f"no {rest[0][:-1]} {rest[1]}"}
            return 200, row
        if method == "PUT":
            return 200, plant.put(system, rest[0], rest[1], _json(environ))
        return 405, {"error": "GET or PUT"}
    return 404, {"error": "no such path"}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of parallel deliveries


class _Handler(WSGIRequestHandler):
    verbose = False

    def log_message(self, format, *args):
        if self.verbose:
            super().log_message(format, *args)


def serve(plant: Plant, *, host: str = "127.0.0.1", port: int, verbose: bool = False) -> None:
    _Handler.verbose = verbose
    with make_server(
        host, port, make_app(plant), server_class=_Server, handler_class=_Handler
    ) as s:
        s.serve_forever()
