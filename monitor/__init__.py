"""trunkwatch: monitor for an emergency-response centre's radio, lines, network and platform."""

__version__ = "0.1.0"
