"""Planned maintenance (计划检修): windows in which an asset or a whole site is taken out of
service on purpose, with an owner (the signed-in person) and a reason.

During a window the duty board shows the assets as "维护 maintenance",
``trunkwatch_maintenance_active`` is 1 for each of them (so availability can leave the time
out), and an Alertmanager silence matching the asset or site keeps the on-call engineers'
phones quiet; ending a window early expires its silence. An inspection item marked
``offline:`` (a generator run, a battery discharge) opens a window for its round and the
signature closes it.

The windows live in the inspection store beside the rounds, written by the same people, in
the same audit log. The parts, one concept each: ``records`` (a window), ``tables`` (its
rows and the database rules), ``setup`` (what the configuration says: the estate and the
Alertmanager), ``silences`` (Alertmanager's silence API), ``service`` (the decisions and
keeping the silences in step), ``metrics``, ``api`` and ``web``.

This module imports nothing, so the store can build on ``tables`` without a cycle.
"""
