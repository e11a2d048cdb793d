#!/usr/bin/env python3
"""Guest notifications per vhost port: a guest that asks for rx interrupts (as a guest kernel
does) makes the PMD write its eventfd after enqueues, counted in stats.show's
guest_notifications (and rtvswitch_port_guest_notifications_total); a polling guest asks for
none. stats.clear restarts the count."""

import unittest

from itlib import dp, learn, mac, rs

MA, MB = mac(0x0A), mac(0x0B)


class GuestNotifications(unittest.TestCase):
    def test_interrupt_guest_counted_polling_guest_not(self):
        with dp.ProcessGroup("it-notif") as g:
            sw = rs.Daemon(g, ports=["a type=vhostuser", "b type=vhostuser"])
            d = sw.socket_dir
            guest = g.start_guest([f"path={d}/a,mac={MA},rxintr=1", f"path={d}/b,mac={MB}"])
            guest.wait_link(0, 30)
            guest.wait_link(1, 30)
            dp.wait_forwarding(guest, 1, guest, 0)
            learn(sw, guest, [(0, MA), (1, MB)])
            n = guest.send(1, count=2000, dst=MA, flow=7, rate=50000)["sent"]
            guest.stats_settled(0, expect_rx=n)
            sw.wait_settled()
            a, b = sw.port_stats("a"), sw.port_stats("b")
            self.assertEqual(a["tx_packets"], n)
            self.assertGreater(a["guest_notifications"], 0, a)
            self.assertLessEqual(a["guest_notifications"], n + b["rx_packets"], a)
            self.assertEqual(b["guest_notifications"], 0, b)
            sw.rpc("stats.clear")
            self.assertEqual(sw.port_stats("a")["guest_notifications"], 0)
            self.assertEqual(sw.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
