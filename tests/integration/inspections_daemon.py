"""Run ``trunkwatch run`` with the inspection service installed the way the daemon installs it
(store opened from the configuration, routes added to the HTTP app, collector in the daemon's
registry): ``python -m tests.integration.inspections_daemon CONFIG HOST:PORT``."""

from __future__ import annotations

import asyncio
import logging
import sys

from monitor.config import load_config
from monitor.daemon import Daemon
from monitor.inspections.plans import build_setup
from monitor.inspections.service import InspectionService
from monitor.inspections.store import open_store


def main() -> None:
    config_path, listen = sys.argv[1], sys.argv[2]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    daemon = Daemon(config_path, listen)
    setup = build_setup(load_config(config_path))
    store = open_store(setup.store_url, setup.data_dir)
    service = InspectionService(setup, store, daemon.clock, daemon.store, daemon.registry)
    daemon.extra_routes.extend(service.routes())
    asyncio.run(daemon.run())


if __name__ == "__main__":
    main()
