"""Where insabot keeps what it writes outside the repository."""

from __future__ import annotations

import os
from pathlib import Path


def insabot_home() -> Path:
    """`$INSABOT_HOME`, default `~/.cache/insabot`: converted models and other caches."""
    configured = os.environ.get("INSABOT_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "insabot"


def models_cache() -> Path:
    return insabot_home() / "models"
