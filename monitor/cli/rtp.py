"""``trunkwatch rtp analyze FILE.pcap``: voice quality of every RTP stream in a capture.

For an engineer with a capture from a mirror port or a softphone: one line per stream with
packets, loss, jitter, reordering and the estimated MOS, as text or JSON. Exit 0 when streams
were found, 1 when the file holds no RTP, 2 when it cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from monitor.cli.args import EXIT_OK, EXIT_USAGE, AddConfig, Subparsers
from probes.base import MalformedReply
from probes.rtp import analyze, read_pcap

__all__ = ["cmd_rtp_analyze", "register"]

#: The capture holds no RTP stream.
EXIT_NO_RTP = 1


def _port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected PORT or LOW-HIGH, got {text!r}") from exc
    if not 0 < first <= last < 65536:
        raise argparse.ArgumentTypeError(f"bad port range {text!r}")
    return first, last


def cmd_rtp_analyze(args: argparse.Namespace) -> int:
    try:
        streams = analyze(
            read_pcap(args.file, args.ports),
            clock_rate=args.clock_rate,
            min_packets=args.min_packets,
        )
    except MalformedReply as exc:
        print(f"trunkwatch rtp analyze: {exc}", file=sys.stderr)
        return EXIT_USAGE
    streams.sort(key=lambda s: (s.first_arrival, s.key))
    rows: list[dict[str, Any]] = [
        {
            "source": f"{s.key.src}:{s.key.sport}",
            "destination": f"{s.key.dst}:{s.key.dport}",
            "ssrc": f"0x{s.key.ssrc:08x}",
            "codec": s.codec.name,
            "payload_type": s.payload_type,
            "packets": s.received,
            "expected": s.expected,
            "lost": s.lost,
            "loss_ratio": round(s.loss_ratio, 6),
            "jitter_ms": round(s.jitter_seconds * 1000, 3),
            "out_of_order": s.out_of_order,
            "duplicates": s.duplicates,
            "duration_s": round(s.last_arrival - s.first_arrival, 3),
            "mos": round(s.mos(args.delay), 2),
        }
        for s in streams
    ]
    if args.json:
        print(json.dumps({"file": str(args.file), "streams": rows}, indent=2))
    elif rows:
        header = (
            f"{'source':<22} {'destination':<22} {'ssrc':<10} {'codec':<7} {'packets':>7} "
            f"{'lost':>5} {'loss%':>6} {'jitter ms':>9} {'ooo':>4} {'MOS':>4}"
        )
        print(header)
        for r in rows:
            print(
                f"{r['source']:<22} {r['destination']:<22} {r['ssrc']:<10} {r['codec']:<7} "
                f"{r['packets']:>7} {r['lost']:>5} {r['loss_ratio'] * 100:>6.2f} "
                f"{r['jitter_ms']:>9.2f} {r['out_of_order']:>4} {r['mos']:>4.2f}"
            )
    if not rows:
        print(f"{args.file}: no RTP streams found", file=sys.stderr)
        return EXIT_NO_RTP
    return EXIT_OK


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``trunkwatch rtp analyze``."""
    rtp = subparsers.add_parser("rtp", help="RTP voice-quality tools")
    actions = rtp.add_subparsers(dest="rtp_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "analyze",
        help="loss, jitter, reordering and MOS of every RTP stream in a pcap/pcapng file",
        description="Analyse every RTP stream in a capture: RFC 3550 loss and jitter, "
        "out-of-order packets and an E-model MOS estimate (ITU-T G.107, simplified).",
    )
    add_config(p)
    p.add_argument("file", help="a pcap or pcapng file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--ports", type=_port_range, help="only UDP ports PORT or LOW-HIGH")
    p.add_argument(
        "--clock-rate", type=int, help="RTP clock rate in Hz (default: from the payload type)"
    )
    p.add_argument(
        "--delay",
        type=float,
        default=0.05,
        help="assumed one-way network delay in seconds for the MOS (default 0.05)",
    )
    p.add_argument("--min-packets", type=int, default=10, help="ignore streams shorter than this")
    p.set_defaults(func=cmd_rtp_analyze)
