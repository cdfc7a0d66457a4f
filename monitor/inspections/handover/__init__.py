"""Shift handover (交接班): the duty shifts from the configuration, what happened in each (the
shift log), and the handover the outgoing technician signs and the incoming one
acknowledges.

The shift log is read from where each thing is kept: the duty board's faults as the daemon
saw them raised and cleared (``tables``), planned maintenance windows, inspection rounds
signed, signed late or missed, drills and notes people wrote, and configuration reloads. A
signed handover keeps the log as it stood, with its SHA-256, in the audit chain; it is never
changed, only acknowledged once by someone else.

The parts, one concept each: ``shifts`` (the rota), ``records``, ``tables`` (rows and the
database rules), ``shiftlog`` (collecting a shift's log), ``service`` (the decisions: who
signs what, when), ``faults`` (the board's problems into faults), ``metrics``, ``api`` and
``web``.

This module imports nothing, so the store can build on ``tables`` without a cycle.
"""
