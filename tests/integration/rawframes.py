#!/usr/bin/env python3
"""Raw Ethernet frames on a kernel interface, for tests that need 802.1Q tags where the host
kernel has no `8021q` module (no VLAN interfaces): run inside the interface's network namespace.

  rawframes.py send IFACE --src MAC --dst MAC [--vlan VID] [--count N]
      sends N frames (EtherType 0x88b5, local experimental; 60 bytes before the FCS), tagged
      with VID when given.
  rawframes.py capture IFACE --seconds S --ready FILE
      counts the frames the interface receives for S seconds (its own transmissions are not
      counted) and prints {"VID|untagged src dst": count, ...} as JSON; creates FILE once it
      listens. The kernel strips the tag of a received frame into the packet's auxiliary data
      (PACKET_AUXDATA), which is where the VID is read from.
"""

import argparse
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
ETHERTYPE = 0x88B5


def mac_bytes(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise argparse.ArgumentTypeError(f"not a MAC address: {text!r}")
    return bytes(int(p, 16) for p in parts)


def frame(src, dst, vlan):
    hdr = dst + src
    if vlan is not None:
        hdr += struct.pack("!HH", 0x8100, vlan & 0x0FFF)
    hdr += struct.pack("!H", ETHERTYPE)
    return hdr + b"rtvswitch raw frame".ljust(60 - len(hdr), b"\0")


def send(args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    f = frame(args.src, args.dst, args.vlan)
    for _ in range(args.count):
        s.send(f)
    s.close()
    print(json.dumps({"sent": args.count}))


def fmt(b):
    return ":".join(f"{x:02x}" for x in b)


def capture(args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((args.iface, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.settimeout(0.1)
    open(args.ready, "w").close()
    counts = {}
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        try:
            data, anc, _, addr = s.recvmsg(2048, socket.CMSG_SPACE(32))
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING or len(data) < 14:
            continue
        vlan = "untagged"
        for level, kind, payload in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= 20:
                status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", payload[:20])
                if status & TP_STATUS_VLAN_VALID:
                    vlan = str(tci & 0x0FFF)
        if vlan == "untagged" and data[12:14] == b"\x81\x00":  # the tag left in the data
            vlan = str(struct.unpack("!H", data[14:16])[0] & 0x0FFF)
        key = f"{vlan} {fmt(data[6:12])} {fmt(data[0:6])}"
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps(counts, sort_keys=True))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    ps = sub.add_parser("send")
    ps.add_argument("iface")
    ps.add_argument("--src", type=mac_bytes, required=True)
    ps.add_argument("--dst", type=mac_bytes, required=True)
    ps.add_argument("--vlan", type=int)
    ps.add_argument("--count", type=int, default=1)
    pc = sub.add_parser("capture")
    pc.add_argument("iface")
    pc.add_argument("--seconds", type=float, required=True)
    pc.add_argument("--ready", required=True)
    args = p.parse_args()
    send(args) if args.cmd == "send" else capture(args)


if __name__ == "__main__":
    sys.exit(main())
