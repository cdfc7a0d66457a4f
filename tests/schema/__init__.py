"""Grafana's own schema as the judge of the dashboard JSON that ``trunkwatch dashboards build``
writes: ``foundation`` decodes a board strictly with grafana-foundation-sdk (PyPI),
``typescript`` type-checks it against ``@grafana/schema`` (npm) under ``tsc --strict``, and
``plants`` holds the injected errors both must reject. ``package.json`` and
``package-lock.json`` pin the npm side; ``python -m tests.schema`` installs it ahead of a run.
"""
