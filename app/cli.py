"""``isthmus`` command line: serve, demo, sandbox, openapi, check-config."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings, SettingsError, load_settings

__all__ = ["main"]

SANDBOX_PORTS = {"intacct": 8701, "infor": 8702, "salesforce": 8703}
DEMO_STATE_DIR = Path(".isthmus")


def _serve(settings: Settings) -> int:
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    # granian measured ~20% more requests/s than uvicorn+uvloop+httptools on this workload;
    # see docs/decisions/0001-asgi-server.md. Settings are read again in each worker by the
    # factory, from the same environment.
    Server(
        "app.asgi:app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        loop=Loops.uvloop,
        websockets=False,
        log_level=LogLevels(settings.log_level.lower()),
        log_access=False,
        respawn_failed_workers=True,
    ).serve()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _load_or_exit(args.config)
    return _serve(settings)


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load_or_exit(args.config)
    configured = [
        name for name in ("intacct", "infor", "salesforce") if getattr(settings, name) is not None
    ]
    print(
        json.dumps(
            {
                "ok": True,
                "listen": f"{settings.host}:{settings.port}",
                "workers": settings.workers,
                "redis": "configured" if settings.redis_url else "off (in-process cache only)",
                "backends": configured,
                "entities": {k: v.erp for k, v in settings.entities.items()},
            },
            indent=2,
        )
    )
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from app.openapi_export import render_openapi

    text = render_openapi()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_external_services(args: argparse.Namespace) -> int:
    from app.external_services import render_external_services

    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(render_external_services(), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import run_sandbox

    run_sandbox(
        host=args.host,
        intacct_port=args.intacct_port,
        infor_port=args.infor_port,
        state_dir=Path(args.state_dir),
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sandbox.server import SandboxProcess

    state_dir = Path(args.state_dir)
    with SandboxProcess(host="127.0.0.1", state_dir=state_dir) as sandbox:
        os.environ.update(sandbox.gateway_environment())
        os.environ.setdefault("ISTHMUS_LOG_JSON", "false")
        os.environ.setdefault("ISTHMUS_WORKER__EMBEDDED", "true")  # orders get booked
        settings = _load_or_exit(args.config)
        print(
            f"\nIsthmus demo: docs at http://{settings.host}:{settings.port}/docs "
            f"(spec: /openapi.json, readiness: /health/ready)\n"
            f"  API key: -H 'X-API-Key: isk_demo_salesforce' (partner: isk_demo_partner_a)\n"
            f"  token:   curl -s -u salesforce-demo:demo-salesforce-secret "
            f"-d grant_type=client_credentials "
            f"http://127.0.0.1:{sandbox.issuer_port}/oauth2/token\n",
            file=sys.stderr,
            flush=True,
        )
        return _serve(settings)


def cmd_worker(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.worker import run_worker

    settings = _load_or_exit(args.config)
    configure_logging(settings.log_level, json=settings.log_json)
    return run_worker(settings)


def cmd_db(args: argparse.Namespace) -> int:
    import asyncio

    from store import Database, current_revision, head_revision, upgrade

    settings = _load_or_exit(args.config)

    async def run() -> str | None:
        db = Database(settings.store.url)
        try:
            if args.action == "upgrade":
                await upgrade(db, args.revision)
            return await current_revision(db)
        finally:
            await db.aclose()

    revision = asyncio.run(run())
    print(json.dumps({"database": repr(settings.store), "revision": revision,
                      "head": head_revision()}))  # fmt: skip
    return 0


def cmd_xref(args: argparse.Namespace) -> int:
    """Import a cross-reference file into the store, or export the store's links as one."""
    import asyncio
    from datetime import UTC, datetime

    import msgspec

    from process_apis.mapping import export_document, import_document, read_document
    from store import Database, upgrade

    settings = _load_or_exit(args.config)

    async def run() -> object:
        db = Database(settings.store.url)
        try:
            if settings.store.migrate_on_start:
                await upgrade(db)
            if args.action == "import":
                report = await import_document(
                    db, read_document(args.file), now=datetime.now(UTC), overwrite=args.overwrite
                )
                return msgspec.to_builtins(report)
            return await export_document(db)
        finally:
            await db.aclose()

    result = asyncio.run(run())
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.action == "export" and args.output != "-":
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _load_or_exit(config: str | None) -> Settings:
    try:
        return load_settings(config_file=config)
    except SettingsError as exc:
        print(f"isthmus: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="isthmus", description=__doc__)
    parser.add_argument("--config", help="TOML settings file (else ISTHMUS_CONFIG_FILE)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("serve", help="run the gateway").set_defaults(func=cmd_serve)
    sub.add_parser("check-config", help="validate settings and print a summary").set_defaults(
        func=cmd_check_config
    )
    openapi = sub.add_parser("openapi", help="export the OpenAPI spec")
    openapi.add_argument("-o", "--output", default="openapi/openapi.json")
    openapi.set_defaults(func=cmd_openapi)
    external = sub.add_parser(
        "external-services", help="export the OpenAPI 3.0 document for Salesforce External Services"
    )
    external.add_argument("-o", "--output", default="openapi/salesforce-external-services.json")
    external.set_defaults(func=cmd_external_services)

    sandbox = sub.add_parser("sandbox", help="run the vendor emulators")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--intacct-port", type=int, default=SANDBOX_PORTS["intacct"])
    sandbox.add_argument("--infor-port", type=int, default=SANDBOX_PORTS["infor"])
    sandbox.add_argument("--state-dir", default=str(DEMO_STATE_DIR))
    sandbox.set_defaults(func=cmd_sandbox)

    sub.add_parser("worker", help="submit accepted orders to the ERPs").set_defaults(
        func=cmd_worker
    )
    db = sub.add_parser("db", help="the durable store's schema")
    db_sub = db.add_subparsers(dest="action", required=True)
    db_upgrade = db_sub.add_parser("upgrade", help="apply migrations (default: to the newest)")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_sub.add_parser("current", help="print the schema revision")
    db.set_defaults(func=cmd_db)
    xref = sub.add_parser("xref", help="the cross-reference kept in the store")
    xref_sub = xref.add_subparsers(dest="action", required=True)
    xref_import = xref_sub.add_parser("import", help="load a cross-reference file (seed)")
    xref_import.add_argument("file")
    xref_import.add_argument(
        "--overwrite", action="store_true", help="also replace links made by flows or people"
    )
    xref_export = xref_sub.add_parser("export", help="write the store's links as a file")
    xref_export.add_argument("-o", "--output", default="-")
    xref.set_defaults(func=cmd_xref)

    demo = sub.add_parser("demo", help="run the sandbox and the gateway wired to it")
    demo.add_argument("--state-dir", default=str(DEMO_STATE_DIR))
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
