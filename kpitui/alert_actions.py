"""Run a configured alert command with the alert as JSON on its standard input."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import asdict

from kpitui.model import AlertState

COMMAND_TIMEOUT = 30.0


def run_alert_command(command: str, alert: AlertState) -> int:
    """Run the command (no shell) and return its exit code; raises OSError or TimeoutExpired."""
    payload = json.dumps(asdict(alert))
    done = subprocess.run(
        shlex.split(command), input=payload, text=True, capture_output=True, timeout=COMMAND_TIMEOUT, check=False
    )
    return done.returncode
