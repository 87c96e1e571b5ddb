"""``isthmus`` command line: serve, demo, sandbox, openapi, check-config, worker, db, sync,
reconcile."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings, SettingsError, load_settings

__all__ = ["main"]

DEMO_STATE_DIR = Path(".isthmus")
SANDBOX_PORTS = ("intacct", "infor", "salesforce", "issuer")
"""Each is ``--<name>-port`` and the setting ``sandbox.<name>_port``."""


def _serve(settings: Settings) -> int:
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    made_here: Path | None = None
    if settings.store.migrate_on_start:
        _migrate_before_workers(settings)
    if settings.observability.metrics:
        made_here = _share_metrics_between_workers(settings)
    # granian measured ~20% more requests/s than uvicorn+uvloop+httptools on this workload;
    # see docs/decisions/0001-asgi-server.md. Settings are read again in each worker by the
    # factory, from the same environment.
    server = Server(
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
    )
    try:
        server.serve()
    finally:
        if made_here is not None:
            shutil.rmtree(made_here, ignore_errors=True)
    return 0


def _migrate_before_workers(settings: Settings) -> None:
    """Bring the store up to date once, before the workers start: each worker then finds it
    current with one query and never loads Alembic (``store.migrate``). It runs in a child
    process, so this one, which the workers are forked from, does not hold Alembic either."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(
        target=_migrate, args=(settings,), name="isthmus-migrate"
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"migrating the store failed (exit code {child.exitcode}); see above")


def _migrate(settings: Settings) -> None:
    import asyncio

    from store import Database, upgrade

    async def run() -> None:
        db = Database(settings.store.url)
        try:
            await upgrade(db)
        finally:
            await db.aclose()

    asyncio.run(run())


def _share_metrics_between_workers(settings: Settings) -> Path | None:
    """Give this run's workers one fresh metrics directory, so that ``/metrics`` sums them
    all (``app.observability.multiprocess``). Returns it when made here, to remove at exit."""
    from app.observability.multiprocess import ENV_VAR, prepare_run_dir

    configured = settings.observability.metrics_dir or os.environ.get(ENV_VAR) or None
    path, made = prepare_run_dir(configured)
    os.environ[ENV_VAR] = str(path)  # inherited by every worker, respawned ones too
    return path if made else None


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


def _sandbox_ports(args: argparse.Namespace) -> tuple[str, dict[str, int]]:
    """Host and ports: a flag wins over the setting (TOML or ``ISTHMUS_SANDBOX__*``)."""
    configured = _load_or_exit(args.config).sandbox
    host = args.host if args.host is not None else configured.host
    ports = {name: getattr(configured, f"{name}_port") for name in SANDBOX_PORTS}
    for name in SANDBOX_PORTS:
        if getattr(args, f"{name}_port") is not None:
            ports[name] = getattr(args, f"{name}_port")
    return host, ports


def _port_taken(message: str, name: str) -> int:
    print(
        f"isthmus sandbox: {message}; choose another with --{name}-port "
        f"or ISTHMUS_SANDBOX__{name.upper()}_PORT",
        file=sys.stderr,
    )
    return 2


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import PortInUseError, run_sandbox

    host, ports = _sandbox_ports(args)
    try:
        run_sandbox(
            host=host,
            intacct_port=ports["intacct"],
            infor_port=ports["infor"],
            issuer_port=ports["issuer"],
            salesforce_port=ports["salesforce"],
            state_dir=Path(args.state_dir),
        )
    except PortInUseError as exc:
        return _port_taken(str(exc), exc.name)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sandbox.server import PortInUseError, SandboxProcess, bind_ports

    host, ports = _sandbox_ports(args)
    try:  # say which port is taken before starting anything
        for sock in bind_ports(host, ports).values():
            sock.close()
    except PortInUseError as exc:
        return _port_taken(str(exc), exc.name)
    state_dir = Path(args.state_dir)
    with SandboxProcess(
        host=host,
        intacct_port=ports["intacct"],
        infor_port=ports["infor"],
        issuer_port=ports["issuer"],
        salesforce_port=ports["salesforce"],
        state_dir=state_dir,
    ) as sandbox:
        from app.demo_environment import merged_environment

        # Keys, issuers and partners given in the environment are kept beside the demo's.
        os.environ.update(merged_environment(os.environ, sandbox.gateway_environment()))
        os.environ.setdefault("ISTHMUS_LOG_JSON", "false")
        os.environ.setdefault("ISTHMUS_WORKER__EMBEDDED", "true")  # orders get booked
        # CA01 accepts orders despite validation warnings, so the ERP's own refusals (an
        # inactive item) reach the exception queue and can be worked in the console.
        os.environ.setdefault("ISTHMUS_ORDERS__VALIDATION", '{"CA01": "warn"}')
        settings = _load_or_exit(args.config)
        print(
            f"\nIsthmus demo: docs at http://{settings.host}:{settings.port}/docs "
            f"(spec: /openapi.json, readiness: /health/ready)\n"
            f"  API key: -H 'X-API-Key: isk_demo_salesforce' (partner: isk_demo_partner_a)\n"
            f"  console: http://{settings.host}:{settings.port}/ops/ (ops key: isk_demo_ops)\n"
            f"  ops:     -H 'X-API-Key: isk_demo_ops' (/metrics, /ops/v1/status)\n"
            f"  token:   curl -s -u salesforce-demo:demo-salesforce-secret "
            f"-d grant_type=client_credentials "
            f"http://{sandbox.host}:{sandbox.issuer_port}/oauth2/token\n"
            f"  Salesforce org: https://{sandbox.host}:{sandbox.salesforce_port} "
            f"(credentials and CA: {state_dir}/salesforce.json)\n",
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


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Compare an entity's ERP documents with Salesforce; write the drift report JSON."""
    import asyncio
    from datetime import UTC, date, datetime, timedelta

    import msgspec

    from app.logs import configure_logging
    from app.wiring import build_services
    from process_apis.sync import Reconciler

    settings = _load_or_exit(args.config)
    configure_logging(settings.log_level, json=settings.log_json)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    date_from = date.fromisoformat(args.date_from) if args.date_from else yesterday
    date_to = date.fromisoformat(args.date_to) if args.date_to else date_from

    async def run() -> bytes:
        services = await build_services(settings)
        try:
            if services.sync is None:
                raise SystemExit("isthmus: reconcile needs `salesforce` and the store configured")
            report = await Reconciler(services.sync).run(
                args.entity, date_from, date_to, repair=not args.report_only
            )
            return msgspec.json.format(msgspec.json.encode(report), indent=2)
        finally:
            await services.aclose()

    text = asyncio.run(run())
    if args.output == "-":
        sys.stdout.write(text.decode() + "\n")
    else:
        Path(args.output).write_bytes(text + b"\n")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """Run one sync flow now (what the worker does on its schedule)."""
    import asyncio

    import msgspec

    from app.logs import configure_logging
    from app.wiring import build_services

    settings = _load_or_exit(args.config)
    configure_logging(settings.log_level, json=settings.log_json)

    async def run() -> dict[str, object]:
        services = await build_services(settings)
        try:
            if services.sync is None:
                raise SystemExit("isthmus: sync needs `salesforce` and the store configured")
            if args.flow == "list":
                return {"flows": [f.name for f in services.sync.flows]}
            summary = await services.sync.run(args.flow, trigger="cli")
            out: dict[str, object] = msgspec.to_builtins(
                {k: v for k, v in vars(summary).items() if k != "failures"}
            )
            return out
        finally:
            await services.aclose()

    print(json.dumps(asyncio.run(run()), indent=2, default=str))
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
    _sandbox_flags(sandbox)
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

    reconcile = sub.add_parser(
        "reconcile", help="compare an entity's ERP orders, invoices and payments with Salesforce"
    )
    reconcile.add_argument("--entity", required=True)
    reconcile.add_argument("--from", dest="date_from", help="first day (default: yesterday)")
    reconcile.add_argument("--to", dest="date_to", help="last day (default: --from)")
    reconcile.add_argument("--report-only", action="store_true", help="repair nothing")
    reconcile.add_argument(
        "-o", "--output", default="-", help="drift report JSON (default: stdout)"
    )
    reconcile.set_defaults(func=cmd_reconcile)
    sync = sub.add_parser("sync", help="run a sync flow now ('list' lists them)")
    sync.add_argument("flow")
    sync.set_defaults(func=cmd_sync)

    demo = sub.add_parser("demo", help="run the sandbox and the gateway wired to it")
    _sandbox_flags(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def _sandbox_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="sandbox host (setting sandbox.host; 127.0.0.1)")
    defaults = {"intacct": 8701, "infor": 8702, "salesforce": 8703, "issuer": 8704}
    for name in SANDBOX_PORTS:
        parser.add_argument(
            f"--{name}-port",
            type=int,
            help=f"setting sandbox.{name}_port, ISTHMUS_SANDBOX__{name.upper()}_PORT "
            f"(default {defaults[name]})",
        )
    parser.add_argument("--state-dir", default=str(DEMO_STATE_DIR))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
