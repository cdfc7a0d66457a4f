"""Every OID the simulator serves, in one table: the standard MIB objects it implements and the
project's own TRUNKWATCH-SIM-MIB, whose text (``mibs/TRUNKWATCH-SIM-MIB.txt``) declares the same
numbers; ``SIM_OIDS`` maps each of its names to the OID so a test can hold the two together.

Columns and scalars are object OIDs without the instance part (``.0`` or the row index).
"""

from __future__ import annotations

__all__ = ["SIM_OIDS", "Oid"]

Oid = tuple[int, ...]

MIB_2: Oid = (1, 3, 6, 1, 2, 1)
ENTERPRISES: Oid = (1, 3, 6, 1, 4, 1)
#: The documentation enterprise number of RFC 5612.
DOCUMENTATION_PEN: Oid = (*ENTERPRISES, 32473)

# -- SNMPv2-MIB system group (RFC 3418) ---------------------------------------------------------
SYSTEM: Oid = (*MIB_2, 1)
SYS_DESCR: Oid = (*SYSTEM, 1)
SYS_OBJECT_ID: Oid = (*SYSTEM, 2)
SYS_UP_TIME: Oid = (*SYSTEM, 3)
SYS_CONTACT: Oid = (*SYSTEM, 4)
SYS_NAME: Oid = (*SYSTEM, 5)
SYS_LOCATION: Oid = (*SYSTEM, 6)
SYS_SERVICES: Oid = (*SYSTEM, 7)

# -- IF-MIB (RFC 2863) --------------------------------------------------------------------------
IF_NUMBER: Oid = (*MIB_2, 2, 1)
IF_ENTRY: Oid = (*MIB_2, 2, 2, 1)
IF_INDEX: Oid = (*IF_ENTRY, 1)
IF_DESCR: Oid = (*IF_ENTRY, 2)
IF_TYPE: Oid = (*IF_ENTRY, 3)
IF_MTU: Oid = (*IF_ENTRY, 4)
IF_SPEED: Oid = (*IF_ENTRY, 5)
IF_PHYS_ADDRESS: Oid = (*IF_ENTRY, 6)
IF_ADMIN_STATUS: Oid = (*IF_ENTRY, 7)
IF_OPER_STATUS: Oid = (*IF_ENTRY, 8)
IF_LAST_CHANGE: Oid = (*IF_ENTRY, 9)
IF_IN_OCTETS: Oid = (*IF_ENTRY, 10)
IF_IN_UCAST_PKTS: Oid = (*IF_ENTRY, 11)
IF_IN_DISCARDS: Oid = (*IF_ENTRY, 13)
IF_IN_ERRORS: Oid = (*IF_ENTRY, 14)
IF_OUT_OCTETS: Oid = (*IF_ENTRY, 16)
IF_OUT_UCAST_PKTS: Oid = (*IF_ENTRY, 17)
IF_OUT_DISCARDS: Oid = (*IF_ENTRY, 19)
IF_OUT_ERRORS: Oid = (*IF_ENTRY, 20)
IFX_ENTRY: Oid = (*MIB_2, 31, 1, 1, 1)
IF_NAME: Oid = (*IFX_ENTRY, 1)
IF_HC_IN_OCTETS: Oid = (*IFX_ENTRY, 6)
IF_HC_IN_UCAST_PKTS: Oid = (*IFX_ENTRY, 7)
IF_HC_OUT_OCTETS: Oid = (*IFX_ENTRY, 10)
IF_HC_OUT_UCAST_PKTS: Oid = (*IFX_ENTRY, 11)
IF_HIGH_SPEED: Oid = (*IFX_ENTRY, 15)
IF_ALIAS: Oid = (*IFX_ENTRY, 18)

# -- DS1-MIB (RFC 4805) -------------------------------------------------------------------------
DS1: Oid = (*MIB_2, 10, 18)
DSX1_CONFIG_ENTRY: Oid = (*DS1, 6, 1)
DSX1_LINE_INDEX: Oid = (*DSX1_CONFIG_ENTRY, 1)
DSX1_IF_INDEX: Oid = (*DSX1_CONFIG_ENTRY, 2)
DSX1_TIME_ELAPSED: Oid = (*DSX1_CONFIG_ENTRY, 3)
DSX1_VALID_INTERVALS: Oid = (*DSX1_CONFIG_ENTRY, 4)
DSX1_LINE_TYPE: Oid = (*DSX1_CONFIG_ENTRY, 5)
DSX1_LINE_CODING: Oid = (*DSX1_CONFIG_ENTRY, 6)
DSX1_SEND_CODE: Oid = (*DSX1_CONFIG_ENTRY, 7)
DSX1_CIRCUIT_IDENTIFIER: Oid = (*DSX1_CONFIG_ENTRY, 8)
DSX1_LOOPBACK_CONFIG: Oid = (*DSX1_CONFIG_ENTRY, 9)
DSX1_LINE_STATUS: Oid = (*DSX1_CONFIG_ENTRY, 10)
DSX1_SIGNAL_MODE: Oid = (*DSX1_CONFIG_ENTRY, 11)
DSX1_TRANSMIT_CLOCK_SOURCE: Oid = (*DSX1_CONFIG_ENTRY, 12)
DSX1_INVALID_INTERVALS: Oid = (*DSX1_CONFIG_ENTRY, 14)
DSX1_LINE_STATUS_LAST_CHANGE: Oid = (*DSX1_CONFIG_ENTRY, 16)
DSX1_CURRENT_ENTRY: Oid = (*DS1, 7, 1)
#: dsx1CurrentTable column numbers: 1 is dsx1CurrentIndex, then the interval counters.
DSX1_CURRENT_COLUMNS: dict[str, int] = {
    "index": 1, "es": 2, "ses": 3, "sefs": 4, "uas": 5, "css": 6,
    "pcv": 7, "les": 8, "bes": 9, "dm": 10, "lcv": 11,
}  # fmt: skip

# -- HOST-RESOURCES-MIB (RFC 2790) --------------------------------------------------------------
HOST: Oid = (*MIB_2, 25)
HR_SYSTEM_UPTIME: Oid = (*HOST, 1, 1)
HR_SYSTEM_DATE: Oid = (*HOST, 1, 2)
HR_SYSTEM_NUM_USERS: Oid = (*HOST, 1, 5)
HR_SYSTEM_PROCESSES: Oid = (*HOST, 1, 6)
HR_MEMORY_SIZE: Oid = (*HOST, 2, 2)
HR_STORAGE_TYPES: Oid = (*HOST, 2, 1)
HR_STORAGE_RAM: Oid = (*HR_STORAGE_TYPES, 2)
HR_STORAGE_VIRTUAL_MEMORY: Oid = (*HR_STORAGE_TYPES, 3)
HR_STORAGE_FIXED_DISK: Oid = (*HR_STORAGE_TYPES, 4)
HR_STORAGE_ENTRY: Oid = (*HOST, 2, 3, 1)
HR_STORAGE_INDEX: Oid = (*HR_STORAGE_ENTRY, 1)
HR_STORAGE_TYPE: Oid = (*HR_STORAGE_ENTRY, 2)
HR_STORAGE_DESCR: Oid = (*HR_STORAGE_ENTRY, 3)
HR_STORAGE_ALLOCATION_UNITS: Oid = (*HR_STORAGE_ENTRY, 4)
HR_STORAGE_SIZE: Oid = (*HR_STORAGE_ENTRY, 5)
HR_STORAGE_USED: Oid = (*HR_STORAGE_ENTRY, 6)
HR_DEVICE_PROCESSOR: Oid = (*HOST, 3, 1, 3)
HR_DEVICE_ENTRY: Oid = (*HOST, 3, 2, 1)
HR_DEVICE_INDEX: Oid = (*HR_DEVICE_ENTRY, 1)
HR_DEVICE_TYPE: Oid = (*HR_DEVICE_ENTRY, 2)
HR_DEVICE_DESCR: Oid = (*HR_DEVICE_ENTRY, 3)
HR_DEVICE_STATUS: Oid = (*HR_DEVICE_ENTRY, 5)
HR_PROCESSOR_ENTRY: Oid = (*HOST, 3, 3, 1)
HR_PROCESSOR_FRW_ID: Oid = (*HR_PROCESSOR_ENTRY, 1)
HR_PROCESSOR_LOAD: Oid = (*HR_PROCESSOR_ENTRY, 2)

# -- UPS-MIB (RFC 1628) -------------------------------------------------------------------------
UPS: Oid = (*MIB_2, 33, 1)
UPS_IDENT_MANUFACTURER: Oid = (*UPS, 1, 1)
UPS_IDENT_MODEL: Oid = (*UPS, 1, 2)
UPS_IDENT_NAME: Oid = (*UPS, 1, 5)
UPS_BATTERY_STATUS: Oid = (*UPS, 2, 1)
UPS_SECONDS_ON_BATTERY: Oid = (*UPS, 2, 2)
UPS_ESTIMATED_MINUTES_REMAINING: Oid = (*UPS, 2, 3)
UPS_ESTIMATED_CHARGE_REMAINING: Oid = (*UPS, 2, 4)
UPS_BATTERY_VOLTAGE: Oid = (*UPS, 2, 5)
UPS_BATTERY_CURRENT: Oid = (*UPS, 2, 6)
UPS_BATTERY_TEMPERATURE: Oid = (*UPS, 2, 7)
UPS_INPUT_LINE_BADS: Oid = (*UPS, 3, 1)
UPS_INPUT_NUM_LINES: Oid = (*UPS, 3, 2)
UPS_INPUT_ENTRY: Oid = (*UPS, 3, 3, 1)
UPS_INPUT_FREQUENCY: Oid = (*UPS_INPUT_ENTRY, 2)
UPS_INPUT_VOLTAGE: Oid = (*UPS_INPUT_ENTRY, 3)
UPS_OUTPUT_SOURCE: Oid = (*UPS, 4, 1)
UPS_OUTPUT_NUM_LINES: Oid = (*UPS, 4, 3)
UPS_OUTPUT_ENTRY: Oid = (*UPS, 4, 4, 1)
UPS_OUTPUT_VOLTAGE: Oid = (*UPS_OUTPUT_ENTRY, 2)
UPS_OUTPUT_POWER: Oid = (*UPS_OUTPUT_ENTRY, 4)
UPS_OUTPUT_PERCENT_LOAD: Oid = (*UPS_OUTPUT_ENTRY, 5)
UPS_ALARMS_PRESENT: Oid = (*UPS, 6, 1)
UPS_ALARM_ENTRY: Oid = (*UPS, 6, 2, 1)
UPS_ALARM_DESCR: Oid = (*UPS_ALARM_ENTRY, 2)
UPS_ALARM_TIME: Oid = (*UPS_ALARM_ENTRY, 3)
UPS_WELL_KNOWN_ALARMS: Oid = (*UPS, 6, 3)
UPS_ALARM_ON_BATTERY: Oid = (*UPS_WELL_KNOWN_ALARMS, 2)
UPS_ALARM_LOW_BATTERY: Oid = (*UPS_WELL_KNOWN_ALARMS, 3)
UPS_ALARM_INPUT_BAD: Oid = (*UPS_WELL_KNOWN_ALARMS, 6)

# -- ENTITY-MIB (RFC 6933) and ENTITY-SENSOR-MIB (RFC 3433) ----------------------------------
ENT_PHYSICAL_ENTRY: Oid = (*MIB_2, 47, 1, 1, 1, 1)
ENT_PHYSICAL_DESCR: Oid = (*ENT_PHYSICAL_ENTRY, 2)
ENT_PHYSICAL_CLASS: Oid = (*ENT_PHYSICAL_ENTRY, 5)
ENT_PHYSICAL_NAME: Oid = (*ENT_PHYSICAL_ENTRY, 7)
ENT_PHY_SENSOR_ENTRY: Oid = (*MIB_2, 99, 1, 1, 1)
ENT_PHY_SENSOR_TYPE: Oid = (*ENT_PHY_SENSOR_ENTRY, 1)
ENT_PHY_SENSOR_SCALE: Oid = (*ENT_PHY_SENSOR_ENTRY, 2)
ENT_PHY_SENSOR_PRECISION: Oid = (*ENT_PHY_SENSOR_ENTRY, 3)
ENT_PHY_SENSOR_VALUE: Oid = (*ENT_PHY_SENSOR_ENTRY, 4)
ENT_PHY_SENSOR_OPER_STATUS: Oid = (*ENT_PHY_SENSOR_ENTRY, 5)
ENT_PHY_SENSOR_UNITS_DISPLAY: Oid = (*ENT_PHY_SENSOR_ENTRY, 6)

# -- TRUNKWATCH-SIM-MIB -------------------------------------------------------------------------
#: name → OID of every node of the project MIB, filled by ``_node`` below in MIB order.
SIM_OIDS: dict[str, Oid] = {}


def _node(name: str, parent: Oid, number: int) -> Oid:
    oid = (*parent, number)
    if name in SIM_OIDS or oid in SIM_OIDS.values():
        raise ValueError(f"duplicate MIB node {name} {oid}")
    SIM_OIDS[name] = oid
    return oid


TRUNKWATCH_SIM_MIB = _node("trunkwatchSimMIB", DOCUMENTATION_PEN, 77)
TSIM_OBJECTS = _node("tsimObjects", TRUNKWATCH_SIM_MIB, 1)
TSIM_NOTIFICATIONS = _node("tsimNotifications", TRUNKWATCH_SIM_MIB, 2)
TSIM_PRODUCTS = _node("tsimProducts", TRUNKWATCH_SIM_MIB, 3)
TSIM_CONFORMANCE = _node("tsimConformance", TRUNKWATCH_SIM_MIB, 4)

# Base station scalars.
TSIM_BASE_STATION = _node("tsimBaseStation", TSIM_OBJECTS, 1)
TSIM_SITE_ID = _node("tsimSiteId", TSIM_BASE_STATION, 1)
TSIM_SITE_NAME = _node("tsimSiteName", TSIM_BASE_STATION, 2)
TSIM_CARRIER_COUNT = _node("tsimCarrierCount", TSIM_BASE_STATION, 3)
TSIM_MCCH_CARRIER = _node("tsimMcchCarrier", TSIM_BASE_STATION, 4)
TSIM_TCH_TOTAL = _node("tsimTchTotal", TSIM_BASE_STATION, 5)
TSIM_TCH_AVAILABLE = _node("tsimTchAvailable", TSIM_BASE_STATION, 6)
TSIM_TCH_BUSY = _node("tsimTchBusy", TSIM_BASE_STATION, 7)
TSIM_QUEUE_LENGTH = _node("tsimQueueLength", TSIM_BASE_STATION, 8)
TSIM_REGISTERED_TERMINALS = _node("tsimRegisteredTerminals", TSIM_BASE_STATION, 9)
TSIM_CALL_ATTEMPTS = _node("tsimCallAttempts", TSIM_BASE_STATION, 10)
TSIM_CALL_SUCCESSES = _node("tsimCallSuccesses", TSIM_BASE_STATION, 11)
TSIM_CALLS_QUEUED = _node("tsimCallsQueued", TSIM_BASE_STATION, 12)
TSIM_CALLS_BLOCKED = _node("tsimCallsBlocked", TSIM_BASE_STATION, 13)
TSIM_CALLS_DROPPED = _node("tsimCallsDropped", TSIM_BASE_STATION, 14)
TSIM_CARRIED_CHANNEL_SECONDS = _node("tsimCarriedChannelSeconds", TSIM_BASE_STATION, 15)
TSIM_QUEUE_WAIT_SECONDS = _node("tsimQueueWaitSeconds", TSIM_BASE_STATION, 16)
TSIM_LATITUDE = _node("tsimSiteLatitude", TSIM_BASE_STATION, 17)
TSIM_LONGITUDE = _node("tsimSiteLongitude", TSIM_BASE_STATION, 18)

# Carrier table.
TSIM_CARRIER_TABLE = _node("tsimCarrierTable", TSIM_OBJECTS, 2)
TSIM_CARRIER_ENTRY = _node("tsimCarrierEntry", TSIM_CARRIER_TABLE, 1)
TSIM_CARRIER_INDEX = _node("tsimCarrierIndex", TSIM_CARRIER_ENTRY, 1)
TSIM_CARRIER_STATE = _node("tsimCarrierState", TSIM_CARRIER_ENTRY, 2)
TSIM_CARRIER_FORWARD_POWER = _node("tsimCarrierForwardPower", TSIM_CARRIER_ENTRY, 3)
TSIM_CARRIER_REFLECTED_POWER = _node("tsimCarrierReflectedPower", TSIM_CARRIER_ENTRY, 4)
TSIM_CARRIER_VSWR = _node("tsimCarrierVswr", TSIM_CARRIER_ENTRY, 5)
TSIM_CARRIER_TIMESLOTS = _node("tsimCarrierTimeslots", TSIM_CARRIER_ENTRY, 6)
TSIM_CARRIER_BUSY_TCH = _node("tsimCarrierBusyTch", TSIM_CARRIER_ENTRY, 7)

# Receive path table, indexed by carrier and path (1 main, 2 diversity).
TSIM_RX_PATH_TABLE = _node("tsimRxPathTable", TSIM_OBJECTS, 3)
TSIM_RX_PATH_ENTRY = _node("tsimRxPathEntry", TSIM_RX_PATH_TABLE, 1)
TSIM_RX_PATH_INDEX = _node("tsimRxPathIndex", TSIM_RX_PATH_ENTRY, 1)
TSIM_RX_PATH_RSSI = _node("tsimRxPathRssi", TSIM_RX_PATH_ENTRY, 2)
TSIM_RX_PATH_NOISE_FLOOR = _node("tsimRxPathNoiseFloor", TSIM_RX_PATH_ENTRY, 3)

# Site power.
TSIM_POWER = _node("tsimPower", TSIM_OBJECTS, 4)
TSIM_MAINS_STATE = _node("tsimMainsState", TSIM_POWER, 1)
TSIM_BATTERY_CHARGE = _node("tsimBatteryCharge", TSIM_POWER, 2)
TSIM_BATTERY_MINUTES_REMAINING = _node("tsimBatteryMinutesRemaining", TSIM_POWER, 3)
TSIM_BATTERY_VOLTAGE = _node("tsimBatteryVoltage", TSIM_POWER, 4)
TSIM_RECTIFIER_STATE = _node("tsimRectifierState", TSIM_POWER, 5)
TSIM_RECTIFIER_VOLTAGE = _node("tsimRectifierVoltage", TSIM_POWER, 6)
TSIM_RECTIFIER_CURRENT = _node("tsimRectifierCurrent", TSIM_POWER, 7)
TSIM_SITE_LOAD = _node("tsimSiteLoad", TSIM_POWER, 8)
TSIM_CABINET_TEMPERATURE = _node("tsimCabinetTemperature", TSIM_POWER, 9)

# Backhaul.
TSIM_BACKHAUL = _node("tsimBackhaul", TSIM_OBJECTS, 5)
TSIM_BACKHAUL_STATE = _node("tsimBackhaulState", TSIM_BACKHAUL, 1)
TSIM_BACKHAUL_IF_INDEX = _node("tsimBackhaulIfIndex", TSIM_BACKHAUL, 2)

# E1 trunk group: channel occupancy per span and the group's call counters.
TSIM_E1_SPAN_TABLE = _node("tsimE1SpanTable", TSIM_OBJECTS, 6)
TSIM_E1_SPAN_ENTRY = _node("tsimE1SpanEntry", TSIM_E1_SPAN_TABLE, 1)
TSIM_E1_SPAN_INDEX = _node("tsimE1SpanIndex", TSIM_E1_SPAN_ENTRY, 1)
TSIM_E1_BUSY_CHANNELS = _node("tsimE1BusyChannels", TSIM_E1_SPAN_ENTRY, 2)
TSIM_E1_TOTAL_CHANNELS = _node("tsimE1TotalChannels", TSIM_E1_SPAN_ENTRY, 3)
TSIM_E1_AVAILABLE_CHANNELS = _node("tsimE1AvailableChannels", TSIM_E1_SPAN_ENTRY, 4)
TSIM_TRUNK_GROUP = _node("tsimTrunkGroup", TSIM_OBJECTS, 7)
TSIM_TRUNK_CALL_ATTEMPTS = _node("tsimTrunkCallAttempts", TSIM_TRUNK_GROUP, 1)
TSIM_TRUNK_CALL_SUCCESSES = _node("tsimTrunkCallSuccesses", TSIM_TRUNK_GROUP, 2)
TSIM_TRUNK_CALLS_BLOCKED = _node("tsimTrunkCallsBlocked", TSIM_TRUNK_GROUP, 3)
TSIM_TRUNK_CALLS_DROPPED = _node("tsimTrunkCallsDropped", TSIM_TRUNK_GROUP, 4)
TSIM_TRUNK_CARRIED_SECONDS = _node("tsimTrunkCarriedChannelSeconds", TSIM_TRUNK_GROUP, 5)

# Notifications (SMIv2: under .0 so that they map onto SNMPv1 traps).
TSIM_NOTIFICATION_PREFIX = _node("tsimNotificationPrefix", TSIM_NOTIFICATIONS, 0)
TSIM_CARRIER_FAIL = _node("tsimCarrierFail", TSIM_NOTIFICATION_PREFIX, 1)
TSIM_CARRIER_RESTORED = _node("tsimCarrierRestored", TSIM_NOTIFICATION_PREFIX, 2)
TSIM_VSWR_HIGH = _node("tsimVswrHigh", TSIM_NOTIFICATION_PREFIX, 3)
TSIM_VSWR_NORMAL = _node("tsimVswrNormal", TSIM_NOTIFICATION_PREFIX, 4)
TSIM_MAINS_FAIL = _node("tsimMainsFail", TSIM_NOTIFICATION_PREFIX, 5)
TSIM_MAINS_RESTORED = _node("tsimMainsRestored", TSIM_NOTIFICATION_PREFIX, 6)
TSIM_BACKHAUL_DOWN = _node("tsimBackhaulDown", TSIM_NOTIFICATION_PREFIX, 7)
TSIM_BACKHAUL_UP = _node("tsimBackhaulUp", TSIM_NOTIFICATION_PREFIX, 8)

# Product identities: the sysObjectID of each simulated device kind.
TSIM_BASE_STATION_PRODUCT = _node("tsimBaseStationProduct", TSIM_PRODUCTS, 1)
TSIM_E1_GATEWAY_PRODUCT = _node("tsimE1GatewayProduct", TSIM_PRODUCTS, 2)
TSIM_SWITCH_PRODUCT = _node("tsimSwitchProduct", TSIM_PRODUCTS, 3)
TSIM_ROUTER_PRODUCT = _node("tsimRouterProduct", TSIM_PRODUCTS, 4)
TSIM_SERVER_PRODUCT = _node("tsimServerProduct", TSIM_PRODUCTS, 5)
TSIM_SIP_TRUNK_PRODUCT = _node("tsimSipTrunkProduct", TSIM_PRODUCTS, 6)

# Conformance.
TSIM_COMPLIANCES = _node("tsimCompliances", TSIM_CONFORMANCE, 1)
TSIM_GROUPS = _node("tsimGroups", TSIM_CONFORMANCE, 2)
TSIM_COMPLIANCE = _node("tsimCompliance", TSIM_COMPLIANCES, 1)
TSIM_BASE_STATION_GROUP = _node("tsimBaseStationGroup", TSIM_GROUPS, 1)
TSIM_CARRIER_GROUP = _node("tsimCarrierGroup", TSIM_GROUPS, 2)
TSIM_POWER_GROUP = _node("tsimPowerGroup", TSIM_GROUPS, 3)
TSIM_E1_GROUP = _node("tsimE1Group", TSIM_GROUPS, 4)
TSIM_NOTIFICATION_GROUP = _node("tsimNotificationGroup", TSIM_GROUPS, 5)

#: sysObjectID by device kind.
PRODUCT_BY_KIND: dict[str, Oid] = {
    "base_station": TSIM_BASE_STATION_PRODUCT,
    "e1_gateway": TSIM_E1_GATEWAY_PRODUCT,
    "switch": TSIM_SWITCH_PRODUCT,
    "router": TSIM_ROUTER_PRODUCT,
    "server": TSIM_SERVER_PRODUCT,
    "sip_trunk": TSIM_SIP_TRUNK_PRODUCT,
}
