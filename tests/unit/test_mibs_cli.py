"""``trunkwatch mibs compile``: every module in the folders compiled with pysmi, one line each,
exit 1 on any error with the file (and line, for a syntax error) and the reason."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import pytest

from monitor.cli import mibs as mibs_cli
from probes.snmp.mibs import SHIPPED_MIB_DIRS, MibResolver

GOOD_MIB = """\
TW-TEST-MIB DEFINITIONS ::= BEGIN
IMPORTS MODULE-IDENTITY, OBJECT-TYPE, NOTIFICATION-TYPE, Integer32, enterprises
    FROM SNMPv2-SMI;
twTest MODULE-IDENTITY
    LAST-UPDATED "202501010000Z" ORGANIZATION "x" CONTACT-INFO "x" DESCRIPTION "x"
    ::= { enterprises 32473 9 }
twFanSpeed OBJECT-TYPE
    SYNTAX Integer32 MAX-ACCESS read-only STATUS current DESCRIPTION "rpm"
    ::= { twTest 3 }
twFanFail NOTIFICATION-TYPE
    OBJECTS { twFanSpeed } STATUS current DESCRIPTION "A fan stopped."
    ::= { twTest 0 1 }
END
"""

# The OID value on line 6 lacks its closing brace: the parser gives up at END, line 7.
BROKEN_MIB = """\
TW-BROKEN-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, Integer32, enterprises FROM SNMPv2-SMI;
twBroken OBJECT-TYPE
    SYNTAX Integer32 MAX-ACCESS read-only STATUS current
    DESCRIPTION "x"
    ::= { enterprises 32473 10
END
"""

NEEDS_MISSING_MIB = """\
TW-NEEDS-MIB DEFINITIONS ::= BEGIN
IMPORTS OBJECT-TYPE, Integer32 FROM SNMPv2-SMI
        twVendorRoot FROM TW-VENDOR-ROOT-MIB;
twThing OBJECT-TYPE
    SYNTAX Integer32 MAX-ACCESS read-only STATUS current DESCRIPTION "x"
    ::= { twVendorRoot 1 }
END
"""


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="trunkwatch")
    mibs_cli.register(parser.add_subparsers(), add_config)
    args = parser.parse_args(argv)
    return int(args.func(args))


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_mib_folder_compiles_into_the_cache_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mibs = tmp_path / "mibs"
    good = write(mibs, "TW-TEST-MIB.txt", GOOD_MIB)
    write(mibs, "README.md", "Vendor MIBs for the repeaters.\n")
    cache = tmp_path / "cache"
    assert run(["mibs", "compile", str(mibs), "--cache", str(cache)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"ok    TW-TEST-MIB ({good}): 3 named OIDs"
    assert "README" not in out + err
    assert list(cache.glob("TW-TEST-MIB-*.json"))
    # What the command compiled is what a profile's symbolic names then read.
    resolver = MibResolver([mibs], cache_dir=cache)
    assert resolver.resolve("TW-TEST-MIB::twFanFail") == (1, 3, 6, 1, 4, 1, 32473, 9, 0, 1)


def test_a_broken_or_incomplete_mib_exits_1_naming_file_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mibs = tmp_path / "mibs"
    write(mibs, "TW-TEST-MIB.txt", GOOD_MIB)
    broken = write(mibs, "broken.mib", BROKEN_MIB)
    needs = write(mibs, "needs.my", NEEDS_MISSING_MIB)
    stray = write(mibs, "notes.mib", "just some text\n")
    assert run(["mibs", "compile", str(mibs), "--cache", str(tmp_path / "cache")]) == 1
    out, err = capsys.readouterr()
    assert "ok    TW-TEST-MIB" in out
    errors = err.splitlines()
    assert errors[0].startswith(
        f"error TW-BROKEN-MIB ({broken}:7): MIB module TW-BROKEN-MIB could not be compiled: "
        "Bad grammar"
    ), errors
    assert errors[1].startswith(
        f"error TW-NEEDS-MIB ({needs}): MIB module TW-NEEDS-MIB could not be compiled: it imports "
        f"TW-VENDOR-ROOT-MIB, which none of the MIB folders has ({mibs}, "
    ), errors
    assert errors[2] == (
        f"error (no module) ({stray}): no 'NAME DEFINITIONS ::= BEGIN' line found"
    ), errors
    assert errors[3].startswith("4 file(s), 3 error(s); compiled modules cached in ")


def test_the_shipped_mibs_compile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folders = [str(d) for d in SHIPPED_MIB_DIRS]
    assert run(["mibs", "compile", *folders, "--cache", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "ok    TRUNKWATCH-SIM-MIB" in out
    assert "ok    IF-MIB" in out


def test_a_folder_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["mibs", "compile", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
