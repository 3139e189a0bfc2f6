"""Issue 8: an API key never shows on screen, in errors, check output, snapshots, screenshots or the store."""

from __future__ import annotations

import json
from datetime import date

from kpitui.app import KpiApp
from kpitui.cli import run
from kpitui.config import Config, SourceConfig
from kpitui.demo.billing_api import BillingServer, Fault
from kpitui.demo.billing_book import build_book
from kpitui.store import Store
from tests.conftest import FROZEN

KEY = "sk_live_51SuperSecretKeyValue9z8y"
WRONG = "sk_live_51WrongKeyValueAbCdEf0000"


def _grep_all(texts: list[str]) -> None:
    for text in texts:
        for secret in (KEY, WRONG, "SuperSecret", "WrongKeyValue"):
            assert secret not in text


async def test_key_is_nowhere_on_screen_in_the_store_or_snapshot(tmp_path, monkeypatch):
    server = BillingServer(build_book(5, date(2026, 11, 22), customers=30), api_key=KEY).start()
    try:
        monkeypatch.setenv("GOOD_KEY", KEY)
        monkeypatch.setenv("BAD_KEY", WRONG)
        config = Config(
            sources={
                "good": SourceConfig("good", "stripe", 60.0, {"base_url": server.base_url, "api_key_env": "GOOD_KEY"}),
                "bad": SourceConfig("bad", "stripe", 60.0, {"base_url": server.base_url, "api_key_env": "BAD_KEY"}),
            },
            fx={"eur": 1.1},
        )
        store = Store(tmp_path / "s.sqlite3")
        app = KpiApp(config, as_of=date(2026, 11, 22), clock=lambda: FROZEN, store=store)
        screens = []
        async with app.run_test(size=(160, 50)) as pilot:
            await app.ready.wait()
            for key in "12345":
                await pilot.press(key)
                screens.append(app.export_screenshot())
            assert (
                app.states["bad"].status.error
                == "the key in BAD_KEY was rejected (401); check it is a valid secret key"
            )
            assert app.states["good"].status.status == "ok"
        store.close()
        stored = [p.read_bytes().decode("latin-1") for p in tmp_path.iterdir()]
        _grep_all(screens + stored + [json.dumps(str(app.snapshot))])
    finally:
        server.stop()


def test_key_is_not_in_check_snapshot_or_errors(tmp_path, monkeypatch, capsys):
    server = BillingServer(build_book(5, date(2026, 11, 22), customers=30), api_key=KEY).start()
    server.faults.append(Fault(500, body=json.dumps({"error": {"message": f"bad key {WRONG}?"}}).encode()))
    try:
        monkeypatch.setenv("STRIPE_API_KEY", KEY)
        config = tmp_path / "c.toml"
        config.write_text(
            f'[fx]\neur = 1.1\n[sources.billing]\ntype = "stripe"\nbase_url = "{server.base_url}"\nmax_retries = 0\n'
        )
        config.chmod(0o600)
        codes = [
            run(["check", "--config", str(config)]),
            run(["check", "--config", str(config)]),
            run(["snapshot", "--config", str(config), "--format", "json", "--data-dir", str(tmp_path / "d")]),
        ]
        captured = capsys.readouterr()
        assert codes == [1, 0, 0]
        assert "sk_live_…9z8y from STRIPE_API_KEY" in captured.out
        _grep_all([captured.out, captured.err] + [p.read_bytes().decode("latin-1") for p in (tmp_path / "d").iterdir()])
    finally:
        server.stop()


def test_key_in_a_readable_config_warns(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(
        f'[sources.billing]\ntype = "stripe"\napi_key = "{KEY}"\nbase_url = "http://127.0.0.1:9"\nmax_retries = 0\n'
    )
    config.chmod(0o644)
    assert run(["check", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert f"run: chmod 600 {config}" in captured.err
    _grep_all([captured.out, captured.err])


def test_mask_never_shows_short_keys():
    from connectors.secrets import mask_key

    assert mask_key("abc") == "…" and mask_key("") == "(empty)"


def test_redact_masks_known_and_key_shaped_tokens():
    from connectors.secrets import redact

    assert redact(f"bad {WRONG}, also {KEY}") == "bad sk_live_…0000, also sk_live_…9z8y"
    assert redact("token abcdefgh123 leaked", "abcdefgh123") == "token …h123 leaked"
