"""The simulated fleet: TETRA base stations, E1/SIP lines, switches, routers and servers that
behave like the real ones over SNMP, for the demo, drills, benches and tests.

``Fleet`` builds the devices from the ``simulator:`` configuration section and injects faults;
``SnmpAgent`` (``monitor.simulator.agent``) serves their MIB views over UDP.
"""

from monitor.simulator.clock import SimClock
from monitor.simulator.fleet import (
    DEFAULT_FLEET,
    ActiveFault,
    Fault,
    FaultError,
    Fleet,
    SimulatorConfigError,
    UnknownAsset,
)
from monitor.simulator.mib import Binding, MibView, Syntax

__all__ = [
    "DEFAULT_FLEET",
    "ActiveFault",
    "Binding",
    "Fault",
    "FaultError",
    "Fleet",
    "MibView",
    "SimClock",
    "SimulatorConfigError",
    "Syntax",
    "UnknownAsset",
]
