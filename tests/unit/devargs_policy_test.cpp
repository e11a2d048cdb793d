#include "switch/core/devargs_policy.h"

#include <gtest/gtest.h>

#include "switch/core/port_spec.h"

namespace rtvs {
namespace {

std::string refusal(const std::string& devargs,
                    const std::vector<std::string>& allow = defaultDpdkAllow()) {
  try {
    checkDevargsAllowed(devargs, parseDevargsRules(allow));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DevargsPolicy, ParsesNameAndPairsWithBracketLists) {
  Devargs d = parseDevargs("net_tap0,iface=rtvs0,mac=fixed");
  EXPECT_EQ(d.name, "net_tap0");
  EXPECT_FALSE(d.pci);
  ASSERT_EQ(d.args.size(), 2u);
  EXPECT_EQ(d.args[1], (std::pair<std::string, std::string>{"mac", "fixed"}));
  d = parseDevargs("0000:3b:00.0,representor=[0,1-3],x=1");
  EXPECT_TRUE(d.pci);
  ASSERT_EQ(d.args.size(), 2u);
  EXPECT_EQ(d.args[0].second, "[0,1-3]");
  EXPECT_TRUE(parseDevargs("3b:00.1").pci);
  EXPECT_FALSE(parseDevargs("net_null0").pci);
}

TEST(DevargsPolicy, RefusesAmbiguousSyntax) {
  for (const char* bad :
       {"", "net_tap0,", "net_tap0,,iface=rtvs0", "net_tap0,iface", "net_tap0,=x",
        "net_tap0,iface=", "net_tap0,iface=rtvs0,iface=rtvs1", "net_tap0,iface=[a,b",
        "net_tap0,iface=[a,[b]]", "net_tap0,iface=[a]x", "net_tap0,iface=a=b", "net_tap0,iface=a]",
        "net_tap0 ,iface=rtvs0", "net_tap0,iface=rtvs\n", "vdev:net_pcap0,tx_pcap=/tmp/v",
        "bus=vdev,class=eth/driver=net_pcap,tx_pcap=/tmp/v", "class=eth/driver=net_pcap",
        "../net_tap0", "_net"}) {
    EXPECT_THROW(parseDevargs(bad), ConfigError) << bad;
  }
}

TEST(DevargsPolicy, TheReportedCallAndItsVariationsAreRefusedByDefault) {
  for (const char* bad : {
           "net_pcap1,rx_iface=lo,tx_pcap=/tmp/victim",
           "net_pcap1,tx_pcap=/tmp/victim",
           "net_pcap1,rx_pcap=/etc/shadow",
           "net_pcap1,iface=lo",
           "net_pcap1,iface=eth0",
           "net_pcap1,rx_iface=lo",
           "net_pcap1,tx_iface=eth0",
           "net_pcap1,rx_iface_in=lo",
           "net_pcap1,iface=rtvs0,tx_pcap=/tmp/victim",
           "eth_pcap1,tx_pcap=/tmp/victim",
           "net_pcap1,rx_iface=[lo],tx_pcap=[/tmp/victim]",
           "net_af_packet0,iface=lo",
           "net_af_packet0,iface=eth0",
           "eth_af_packet0,iface=lo",
           "net_tap0,remote=eth0",
           "net_tap0,iface=vnet0",
           "net_tap0,iface=rtvs0,persist=1",
           "net_tun0,iface=rtvs0",
           "net_vhost0,iface=/etc/passwd",
           "net_virtio_user0,path=/dev/vhost-net",
           "net_ring0,nodeaction=r0:0:ATTACH",
           "net_bonding0,slave=0000:3b:00.0",
           "0000:3b:00.0,any=1",
           "net_tapx0",
       }) {
    const std::string why = refusal(bad);
    EXPECT_NE(why, "") << bad;
    EXPECT_NE(why.find("refused"), std::string::npos) << why;
  }
}

TEST(DevargsPolicy, DefaultAllowsPciAndLabVdevs) {
  for (const char* good : {"0000:3b:00.0", "3b:00.0", "net_tap0", "net_tap_it123,iface=rtvst123",
                           "net_tap1,iface=rtvs-lab,mac=fixed", "net_ring0", "net_null0,size=64",
                           "net_null_x,copy=1,no-rx=1", "net_af_packet0,iface=rtvs-veth0,qpairs=2",
                           "net_pcap0,iface=rtvs0", "net_pcap0,rx_iface=rtvs0,tx_iface=rtvs1"}) {
    EXPECT_EQ(refusal(good), "") << good;
  }
}

TEST(DevargsPolicy, MessagesNameTheOptionAndTheEntry) {
  EXPECT_EQ(refusal("net_pcap1,rx_iface=lo,tx_pcap=/tmp/victim"),
            "devargs: \"net_pcap1,rx_iface=lo,tx_pcap=/tmp/victim\" refused: option rx_iface=lo "
            "does not match rx_iface=rtvs* (dpdk-allow entry "
            "\"net_pcap:iface=rtvs*,rx_iface=rtvs*,rx_iface_in=rtvs*,tx_iface=rtvs*,phy_mac\"); an "
            "admin widens dpdk-allow in the configuration file");
  EXPECT_NE(refusal("net_foo0").find("device \"net_foo0\" is not in the allow-list"),
            std::string::npos);
}

TEST(DevargsPolicy, AdminsWidenInConfig) {
  EXPECT_EQ(refusal("net_pcap0,tx_pcap=/var/lib/lab/out.pcap", {"net_pcap:*"}), "");
  EXPECT_EQ(refusal("0000:3b:00.0,txq_inline=128", {"pci:txq_inline"}), "");
  EXPECT_NE(refusal("0000:3b:00.0,other=1", {"pci:txq_inline"}), "");
  EXPECT_EQ(refusal("net_af_packet0,iface=eth1", {"net_af_packet:iface=eth1|eth2"}), "");
  EXPECT_NE(refusal("net_af_packet0,iface=eth3", {"net_af_packet:iface=eth1|eth2"}), "");
  // Without "*", values stay plain: no paths, no lists.
  EXPECT_NE(refusal("net_null0,size=[1,2]", {"net_null:size"}), "");
  EXPECT_NE(refusal("net_tap0", {}), "");
}

TEST(DevargsPolicy, RejectsMalformedRules) {
  for (const char* bad :
       {"", ":x", "net_pcap:", "net_pcap:iface=", "net_pcap:iface=/tmp/*", "net_pcap:iface=a||b",
        "net_pcap:iface,iface", "net pcap", "net_pcap:=x"}) {
    EXPECT_THROW(parseDevargsRule(bad), ConfigError) << bad;
  }
  EXPECT_NO_THROW(parseDevargsRules(defaultDpdkAllow()));
}

}  // namespace
}  // namespace rtvs
