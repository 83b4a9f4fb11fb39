"""Arguments of the reference plant (shared by ``manage.py run_reference_plant``)."""

import argparse
import json
import os
import sys
from pathlib import Path

from .plant import SYSTEMS, Plant, serve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--store",
        default=None,
        help="JSON-lines journal of what it received (default: $VAR_DIR/reference-plant.jsonl; "
        "'' keeps everything in memory)",
    )
    parser.add_argument(
        "--secrets-file",
        default=os.environ.get("REFERENCE_SECRETS_FILE", ""),
        help='JSON {"erp": "whsec_…", "mes": "whsec_…"} (what manage.py reference_targets '
        "writes); or set REFERENCE_ERP_SECRET / REFERENCE_MES_SECRET",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def secrets_from(secrets_file: str) -> dict[str, str]:
    found = {s: os.environ.get(f"REFERENCE_{s.upper()}_SECRET", "") for s in SYSTEMS}
    if secrets_file:
        found.update(json.loads(Path(secrets_file).read_text()))
    return found


def run(options: dict) -> None:
    store = options["store"]
    if store is None:
        var = Path(os.environ.get("VAR_DIR", "var"))
        store = str(var / "reference-plant.jsonl")
    plant = Plant(secrets=secrets_from(options["secrets_file"]), store=store or None)
    print(
        f"Reference ERP/MES on http://{options['host']}:{options['port']}/ "
        f"(store: {store or 'memory'})",
        flush=True,
    )
    serve(plant, host=options["host"], port=options["port"], verbose=options["verbose"])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m integrations.reference")
    add_arguments(parser)
    try:
        run(vars(parser.parse_args()))
    except ValueError as exc:
        sys.exit(f"reference plant: {exc}")
    except KeyboardInterrupt:
        pass
