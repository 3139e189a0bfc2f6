"""The `kpitui` command: board, demo, snapshot, check, init, screenshot."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kpitui.config import Config, ConfigError, default_config_path, load_config

if TYPE_CHECKING:
    from kpitui.demo.setup import Demo
    from kpitui.store import Store

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input; exit code 2."""


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _rotation(text: str) -> float:
    """`--rotate 30s`: a duration of at least a second."""
    from kpitui.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s or 2m, got {text!r}") from None
    if seconds < 1:
        raise argparse.ArgumentTypeError("expected at least 1s")
    return seconds


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $KPITUI_CONFIG, then the user config dir)",
    )
    common.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help="use generated demo data")
    common.add_argument(
        "--as-of", type=_as_of, default=argparse.SUPPRESS, help="reference date YYYY-MM-DD (default: today, UTC)"
    )
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where the history store lives (default: user data dir)",
    )
    common.add_argument(
        "--no-animation", action="store_true", default=argparse.SUPPRESS, help="no animations (slow links, SSH)"
    )
    kiosk = argparse.ArgumentParser(add_help=False)
    kiosk.add_argument(
        "--rotate", type=_rotation, default=argparse.SUPPRESS, help="kiosk: show each pane for this long (e.g. 30s)"
    )
    parser = argparse.ArgumentParser(
        prog="kpitui", parents=[common, kiosk], description="A terminal KPI board for SaaS operators."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("board", parents=[common, kiosk], help="the board (default)")
    commands.add_parser("demo", parents=[common, kiosk], help="the board on generated demo data")
    snap = commands.add_parser("snapshot", parents=[common], help="one refresh, printed")
    snap.add_argument("--format", choices=("json", "table", "csv"), default="table")
    commands.add_parser("check", parents=[common], help="test every configured source")
    init = commands.add_parser("init", parents=[common], help="write a starter config")
    init.add_argument("--path", type=Path, default=None)
    shot = commands.add_parser("screenshot", parents=[common], help="an SVG of every pane")
    shot.add_argument("--out", type=Path, default=Path("screenshots"))
    shot.add_argument("--size", default="120x40", help="terminal size WIDTHxHEIGHT")
    serve = commands.add_parser("serve", parents=[common], help="the board in a browser on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    return parser


def open_store(args: argparse.Namespace, config: Config, demo: Demo | None) -> Store:
    """The history store of this config, or of the demo's data set, under the data dir."""
    from platformdirs import user_data_path

    from kpitui.store import Store, StoreUnavailableError, store_path

    data_dir = Path(getattr(args, "data_dir", None) or user_data_path("kpitui"))
    try:
        if demo is None:
            return Store(store_path(data_dir, config.path))
        from kpitui.demo.setup import prune_unused

        prune_unused(data_dir, "demo*.sqlite3*", demo.name)  # other demo days' stores, unused for a week
        return Store(store_path(data_dir, demo.name))
    except StoreUnavailableError as exc:
        raise ConfigError([str(exc)]) from None


def _board_arguments(args: argparse.Namespace) -> list[str]:
    """The global options of this call, to start the same board elsewhere."""
    forwarded = []
    for option in ("config", "as_of", "data_dir", "rotate"):
        value = getattr(args, option, None)
        if value is not None:
            forwarded += ["--" + option.replace("_", "-"), f"{value:g}s" if option == "rotate" else str(value)]
    for flag in ("demo", "no_animation"):
        if getattr(args, flag, False):
            forwarded.append("--" + flag.replace("_", "-"))
    return forwarded


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the board with textual-serve on loopback only."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("kpitui serve needs textual-serve: pip install 'kpitui[serve]'") from None
    argv = [sys.executable, "-m", "kpitui", "board", *_board_arguments(args)]
    print(
        f"warning: serving on http://127.0.0.1:{args.port} with NO authentication; keep it on this machine",
        file=sys.stderr,
    )
    Server(shlex.join(argv), host="127.0.0.1", port=args.port, title="kpitui").serve()
    return EXIT_OK


def _today() -> date:
    return datetime.now(UTC).date()


def _resolve_config(args: argparse.Namespace) -> tuple[Config, Demo | None]:
    """The config to use: demo when asked (or nothing configured for the bare board), else the file."""
    explicit = getattr(args, "config", None)
    path = explicit or default_config_path()
    nothing_configured = explicit is None and not os.environ.get("KPITUI_CONFIG") and not path.exists()
    if (
        getattr(args, "demo", False)
        or args.command == "demo"
        or (args.command == "screenshot" and explicit is None)  # DESIGN §5: demo data unless --config
        or (nothing_configured and args.command in (None, "board"))
    ):
        from kpitui.demo.setup import start_demo

        demo = start_demo(getattr(args, "as_of", None) or _today())
        if explicit is None or args.command == "screenshot":
            return demo.config, demo
        return _demo_with_settings(demo.config, load_config(explicit)), demo
    return load_config(path), None


def _demo_with_settings(demo: Config, mine: Config) -> Config:
    """The demo's sources with the board settings of the user's file: tiles, keys, rotation, goals, alerts, theme,
    period, staleness."""
    return replace(
        demo,
        path=mine.path,
        goals=mine.goals,
        alerts=mine.alerts,
        theme=mine.theme,
        period_days=mine.period_days,
        stale_after=mine.stale_after,
        engine=mine.engine,
        tiles=mine.tiles,
        keys=mine.keys,
        rotate=mine.rotate,
        warnings=mine.warnings,
    )


def _print_warnings(config: Config) -> None:
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_snapshot(args: argparse.Namespace, config: Config, demo: Demo | None) -> int:
    """Refresh once and print; exit 1 when any source failed, or a section no source owns (customers,
    engagement) could not be computed."""
    from kpitui import report
    from kpitui.pipeline import refresh_all

    store = open_store(args, config, demo)
    try:
        snapshot = refresh_all(config, getattr(args, "as_of", None) or _today(), datetime.now(UTC), store)
        damaged = store.take_notice()
    finally:
        store.close()
    if damaged:
        print(f"warning: {damaged}", file=sys.stderr)
    printer = {"json": report.as_json, "table": report.as_table, "csv": report.as_csv}[args.format]
    sys.stdout.write(printer(snapshot) + ("\n" if args.format == "json" else ""))
    failed = [(n, s) for n, s in snapshot.sources.items() if s.status != "ok"]
    from connectors.registry import SECTION_OF
    from kpitui.text import clean

    for name, status in failed:
        print(f"error: source {clean(name)}: {clean(status.error or '')}", file=sys.stderr)
    owned = {SECTION_OF.get(status.type) for status in snapshot.sources.values()}  # a failure there is its source's
    unowned = [(s, why) for s, why in (snapshot.failed_sections or {}).items() if s not in owned]
    for section, why in unowned:
        print(f"error: {section} not computed: {clean(why)}", file=sys.stderr)
    return EXIT_SOURCE_FAILED if failed or unowned else EXIT_OK


def cmd_check(config: Config) -> int:
    """Load each source and say what was found or what is wrong, one line each."""
    from kpitui.pipeline import connector_of, describe_error, load_source
    from kpitui.text import clean

    if not config.sources:
        print(f"{config.path}: no [sources.NAME] tables; add one (kpitui init writes examples)", file=sys.stderr)
        return EXIT_USAGE
    if config.keys:
        from kpitui.app import keymap_problems

        if problems := keymap_problems(config.keys):
            raise ConfigError(problems)
    status = EXIT_OK
    for name, source in config.sources.items():
        try:
            result = load_source(source)
        except Exception as exc:
            print(f"✗ {name} ({source.type}): {clean(describe_error(exc))}")
            status = EXIT_SOURCE_FAILED
            continue
        report = result.report
        columns = ", ".join(f"{k}={v!r}" for k, v in report.columns_used.items())
        line = f"✓ {name} ({source.type}): {report.rows:,} {report.unit}"
        if "api_key_env" in connector_of(source).keys:
            line += f", {report.requests} requests, key {_key_label(source)}"
        if report.layout:
            line += f", layout {report.layout}"
        if columns:
            line += f"; columns: {columns}"
        print(clean(line, limit=2000))
        for extra in report.warnings + report.summary_of_skips() + _setting_warnings(config, source, result):
            print(f"  ! {clean(extra, limit=400)}")
        if cost := _refresh_cost(config, source, result):
            print(f"  {clean(cost, limit=400)}")
    return status


def _refresh_cost(config: Config, source, result) -> str | None:
    """For a warehouse source, what a refresh (the funnel's query, if it has steps, and engagement's) scans and
    costs (their dry runs), against the limit each query has."""
    events = result.frames.get("events")
    if not hasattr(events, "refresh_cost"):
        return None
    from connectors.bigquery import human_bytes, price, suggested_limit
    from kpitui.metrics.engagement import EngagementPlan
    from kpitui.metrics.funnel import funnel_cost

    timezone = source.options.get("timezone", "UTC")
    plan = EngagementPlan.of(_today(), config.period_days, timezone, config.engagement.lead_event)
    queries = {"engagement": events.engagement_cost(plan)}
    if config.funnel.steps:
        queries = {"funnel": funnel_cost(events, config.funnel, _today(), config.period_days, timezone), **queries}
    scanned, largest = sum(queries.values()), max(queries.values())
    limit = int(source.options["maximum_bytes_billed"])
    each = ", ".join(f"{name} {human_bytes(n)}" for name, n in queries.items())
    text = f"a refresh scans {human_bytes(scanned)} (${price(scanned):.2f} on demand; {each}) of maximum_bytes_billed "
    if largest <= limit:
        return text + f"{human_bytes(limit)} a query"
    return text + (
        f'{human_bytes(limit)} a query: it would be refused; set maximum_bytes_billed = "{suggested_limit(largest)}"'
    )


def _setting_warnings(config: Config, source, result) -> list[str]:
    """What the config asks of this source's data that the data cannot give (SLA targets and priorities)."""
    from connectors.registry import SECTION_OF

    if SECTION_OF[source.type] != "support":
        return []
    from kpitui.metrics.support import priorities, sla_warnings

    return sla_warnings(priorities(result.frames["tickets"]), config.sla_minutes)


def _key_label(source) -> str:
    from connectors.secrets import mask_key

    env = source.options.get("api_key_env", "STRIPE_API_KEY")
    key = source.options.get("api_key") or os.environ.get(env, "")
    where = "the config" if source.options.get("api_key") else env
    return f"{mask_key(key)} from {where}"


def cmd_init(args: argparse.Namespace) -> int:
    """Write the starter config; never overwrite."""
    from kpitui.starter import starter_config

    path = args.path or getattr(args, "config", None) or default_config_path()
    if path.exists():
        print(f"{path}: already exists; kpitui init never overwrites (pass --path for another file)", file=sys.stderr)
        return EXIT_USAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_config(), encoding="utf-8")
    path.chmod(0o600)
    print(f"wrote {path}; edit the sources, then run: kpitui check --config {path}")
    return EXIT_OK


def cmd_screenshot(args: argparse.Namespace, config: Config) -> int:
    """Render every pane headless and save one SVG each."""
    import asyncio

    from kpitui.screenshots import save_screenshots

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size: expected WIDTHxHEIGHT like 120x40, got {args.size!r}") from None
    as_of = getattr(args, "as_of", None) or _today()
    for path in asyncio.run(save_screenshots(config, as_of, args.out, (width, height))):
        print(f"wrote {path}")
    return EXIT_OK


def run(argv: list[str] | None = None) -> int:
    """Parse arguments and run the command; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    try:
        if args.command == "init":
            return cmd_init(args)
        if args.command == "serve":
            return cmd_serve(args)
        config, demo = _resolve_config(args)
        if getattr(args, "rotate", None) is not None:
            config = replace(config, rotate=args.rotate)
        _print_warnings(config)
        try:
            if args.command == "snapshot":
                return cmd_snapshot(args, config, demo)
            if args.command == "check":
                return cmd_check(config)
            if args.command == "screenshot":
                return cmd_screenshot(args, config)
            from kpitui.app import KpiApp

            store = open_store(args, config, demo)
            try:
                KpiApp(
                    config,
                    as_of=getattr(args, "as_of", None),
                    store=store,
                    animate=not getattr(args, "no_animation", False),
                ).run()
            finally:
                store.close()
            return EXIT_OK
        finally:
            if demo is not None:
                demo.stop()
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main() -> None:
    """Console-script entry point; a reader that stops early (`kpitui snapshot | head`) ends it quietly."""
    try:
        code = run()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit would fail
        code = 0
    sys.exit(code)
