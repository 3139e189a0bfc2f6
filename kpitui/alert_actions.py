"""Run a configured alert command with the alert as JSON on its standard input."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import asdict

from kpitui.model import AlertState

COMMAND_TIMEOUT = 30.0


def run_alert_command(command: str, alert: AlertState) -> str | None:
    """Run the command (no shell); None when it succeeded, else one line saying how it failed, which never holds
    the command itself (its arguments may carry a webhook URL with a secret)."""
    payload = json.dumps(asdict(alert))
    what = f"the alert command for {alert.kpi}"
    try:
        done = subprocess.run(
            shlex.split(command), input=payload, text=True, capture_output=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return f"{what} timed out after {COMMAND_TIMEOUT:g} s"
    except (OSError, ValueError) as exc:
        return f"{what} could not start ({exc.__class__.__name__})"
    return None if done.returncode == 0 else f"{what} exited with code {done.returncode}"
