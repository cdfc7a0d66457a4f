"""The composition root: what puts the layers below together into running processes.

``daemon`` (``trunkwatch run``: configuration, scheduler, exposition, traps, inspections and
the HTTP server in one event loop), ``server`` (the aiohttp application; its handlers read
narrow views, never the daemon), ``status`` (the duty board's state of every asset),
``webconfig`` (TLS and basic authentication of the HTTP server), ``probe_once``
(``trunkwatch probe``) and ``demo`` (the simulated city and the daemon watching it). Nothing
below this package imports it; the command line (``monitor.cli``) sits above it.
"""
