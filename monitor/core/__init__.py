"""The bottom layer every other part of trunkwatch stands on, and which imports nothing of ours.

``clock`` (one Clock protocol, real and manual), ``durations`` (``30s``, ``5m``), ``sources``
(YAML with positions, ``Problem``, ``ConfigError``, pydantic errors as problems, bounded file
reads), ``addresses`` (``host:port`` for targets and listeners), ``collection`` (the garbage
collector held off while a large configuration is built) and ``errors`` (the root of the
project's exception tree).
"""
