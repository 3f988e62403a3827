"""Serve the prod build already in ``.web`` as one more app instance, without compiling or
bundling again: what ``reflex run --env prod --single-port`` does once its build is done
(Reflex's own ``run_backend_prod``, pages mounted, granian workers as configured).

    python -m tests.e2e.serve_built HOST PORT

A build carries its port (``.web/env.json``: the page opens its websocket on the host it
was loaded from, at the built port), so a second instance of the same build serves the
same port on another address (``127.0.0.2``). Run from the repository root.
"""

from __future__ import annotations

import sys

from reflex_base import constants
from reflex_base.config import get_config
from reflex_base.environment import environment
from reflex.utils import exec as reflex_exec


def main(host: str, port: int) -> None:
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    get_config()._set_persistent(frontend_port=port, backend_port=port)
    reflex_exec.run_backend_prod(host, port, get_config().loglevel.subprocess_level(), True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
