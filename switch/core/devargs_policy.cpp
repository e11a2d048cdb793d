#include "switch/core/devargs_policy.h"

#include <algorithm>

#include "switch/core/port_spec.h"

namespace rtvs {

namespace {

[[noreturn]] void fail(std::string_view key, const std::string& reason) {
  throw ConfigError(std::string(key) + ": " + reason);
}

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool isAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isWordChar(char c) { return isAlnum(c) || c == '_'; }
bool isSafeValueChar(char c) { return isAlnum(c) || c == '_' || c == '.' || c == ':' || c == '-'; }

bool allOf(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

bool hexField(std::string_view s, size_t len) { return s.size() == len && allOf(s, isHex); }

// "DDDD:BB:DD.F" or "BB:DD.F", as rte_pci_addr_parse takes them.
bool isPciAddress(std::string_view s) {
  if (s.size() == 12) {
    if (!hexField(s.substr(0, 4), 4) || s[4] != ':') return false;
    s.remove_prefix(5);
  }
  return s.size() == 7 && hexField(s.substr(0, 2), 2) && s[2] == ':' &&
         hexField(s.substr(3, 2), 2) && s[5] == '.' && s[6] >= '0' && s[6] <= '7';
}

bool isVdevName(std::string_view s) { return !s.empty() && isAlnum(s[0]) && allOf(s, isWordChar); }

bool patternMatches(std::string_view pattern, std::string_view value) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return value.substr(0, pattern.size()) == pattern;
  }
  return value == pattern;
}

// The device name belongs to `driver`: DPDK's vdev bus takes the first driver whose name is a
// prefix of the device's; the suffix is kept to forms no other driver name continues with.
bool nameOfDriver(std::string_view name, std::string_view driver) {
  if (name.substr(0, driver.size()) != driver) return false;
  std::string_view rest = name.substr(driver.size());
  if (allOf(rest, [](char c) { return c >= '0' && c <= '9'; })) return true;
  return rest.size() >= 2 && rest[0] == '_' && allOf(rest.substr(1), isWordChar);
}

}  // namespace

Devargs parseDevargs(std::string_view text) {
  if (text.empty()) fail("devargs", "must not be empty");
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) {
      fail("devargs",
           "must not contain spaces, control or non-ASCII bytes, got " + quotedValue(text));
    }
  }
  Devargs d;
  const size_t comma = text.find(',');
  d.name = std::string(text.substr(0, comma));
  if (d.name.find('=') != std::string::npos || d.name.find('/') != std::string::npos) {
    fail("devargs", "the layered syntax (bus=...,class=.../driver=...) is not accepted, got " +
                        quotedValue(text) + "; write NAME,KEY=VALUE,...");
  }
  d.pci = isPciAddress(d.name);
  if (!d.pci && !isVdevName(d.name)) {
    fail("devargs", "device " + quotedValue(d.name) +
                        " is neither a PCI address (0000:3b:00.0) nor a vdev name of "
                        "[A-Za-z0-9_] (a bus prefix such as \"vdev:\" is not accepted)");
  }
  if (comma == std::string_view::npos) return d;
  std::string_view rest = text.substr(comma + 1);
  if (rest.empty()) fail("devargs", "empty option after ',' in " + quotedValue(text));
  while (true) {
    // One KEY=VALUE pair; a VALUE starting with '[' runs to its ']' (rte_kvargs' list form).
    const size_t eq = rest.find_first_of("=,[]");
    if (eq == std::string_view::npos || rest[eq] != '=') {
      fail("devargs", "option " + quotedValue(rest.substr(0, rest.find(','))) +
                          " is not KEY=VALUE in " + quotedValue(text));
    }
    const std::string_view key = rest.substr(0, eq);
    if (key.empty()) fail("devargs", "empty option name in " + quotedValue(text));
    rest.remove_prefix(eq + 1);
    size_t end;
    if (!rest.empty() && rest[0] == '[') {
      end = rest.find(']');
      if (end == std::string_view::npos) fail("devargs", "unbalanced '[' in " + quotedValue(text));
      if (rest.substr(1, end - 1).find('[') != std::string_view::npos) {
        fail("devargs", "nested '[' in " + quotedValue(text));
      }
      ++end;
      if (end < rest.size() && rest[end] != ',') {
        fail("devargs", "text after ']' in " + quotedValue(text));
      }
    } else {
      end = rest.find(',');
      if (end == std::string_view::npos) end = rest.size();
    }
    const std::string_view value = rest.substr(0, end);
    if (value.empty()) fail("devargs", "option " + std::string(key) + " has an empty value");
    if (value[0] != '[' && value.find_first_of("[]=") != std::string_view::npos) {
      fail("devargs", "option " + std::string(key) + ": '[', ']' or '=' inside a value in " +
                          quotedValue(text));
    }
    for (const auto& [k, v] : d.args) {
      if (k == key) fail("devargs", "option " + std::string(key) + " given more than once");
    }
    d.args.emplace_back(std::string(key), std::string(value));
    if (end == rest.size()) break;
    rest.remove_prefix(end + 1);
    if (rest.empty()) fail("devargs", "empty option after ',' in " + quotedValue(text));
  }
  return d;
}

DevargsRule parseDevargsRule(std::string_view entry) {
  DevargsRule r;
  r.text = std::string(entry);
  const size_t colon = entry.find(':');
  r.driver = std::string(entry.substr(0, colon));
  if (!isVdevName(r.driver)) {
    fail("dpdk-allow", "entry " + quotedValue(entry) +
                           ": driver must be \"pci\" or a vdev driver name of [A-Za-z0-9_]");
  }
  if (colon == std::string_view::npos) return r;
  std::string_view rest = entry.substr(colon + 1);
  if (rest == "*") {
    r.any_option = true;
    return r;
  }
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view opt = rest.substr(0, comma);
    const size_t eq = opt.find('=');
    DevargsRule::Option o;
    o.key = std::string(opt.substr(0, eq));
    if (o.key.empty() || !allOf(o.key, [](char c) { return isSafeValueChar(c) && c != ':'; })) {
      fail("dpdk-allow", "entry " + quotedValue(entry) + ": bad option name " + quotedValue(o.key));
    }
    if (eq != std::string_view::npos) {
      std::string_view pats = opt.substr(eq + 1);
      while (true) {
        const size_t bar = pats.find('|');
        std::string_view p = pats.substr(0, bar);
        std::string_view body = p;
        if (!body.empty() && body.back() == '*') body.remove_suffix(1);
        if (p.empty() || (body.empty() && p != "*") || !allOf(body, isSafeValueChar)) {
          fail("dpdk-allow", "entry " + quotedValue(entry) + ": option " + o.key +
                                 ": bad value pattern " + quotedValue(p) +
                                 " (a value of [A-Za-z0-9_.:-], or a prefix ending in '*')");
        }
        o.patterns.emplace_back(p);
        if (bar == std::string_view::npos) break;
        pats.remove_prefix(bar + 1);
      }
    }
    for (const auto& prev : r.options) {
      if (prev.key == o.key)
        fail("dpdk-allow", "entry " + quotedValue(entry) + ": option " + o.key + " given twice");
    }
    r.options.push_back(std::move(o));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return r;
}

std::vector<DevargsRule> parseDevargsRules(const std::vector<std::string>& entries) {
  std::vector<DevargsRule> rules;
  rules.reserve(entries.size());
  for (const std::string& e : entries) rules.push_back(parseDevargsRule(e));
  return rules;
}

const std::vector<std::string>& defaultDpdkAllow() {
  static const std::vector<std::string> kDefault = {
      "pci",
      "net_tap:iface=rtvs*,mac",
      "net_ring",
      "net_null:size,copy,no-rx",
      "net_af_packet:iface=rtvs*,qpairs,blocksz,framesz,framecnt,qdisc_bypass",
      "net_pcap:iface=rtvs*,rx_iface=rtvs*,rx_iface_in=rtvs*,tx_iface=rtvs*,phy_mac",
  };
  return kDefault;
}

void checkDevargsAllowed(std::string_view devargs, const std::vector<DevargsRule>& rules) {
  Devargs d;
  try {
    d = parseDevargs(devargs);
  } catch (const ConfigError& e) {
    std::string why = e.what();
    if (why.starts_with("devargs: ")) why.erase(0, 9);
    fail("devargs", quotedValue(devargs) + " refused: " + why);
  }
  std::string why;  // from the rule that matched the device but not an option
  for (const DevargsRule& r : rules) {
    const bool device_ok = r.driver == "pci" ? d.pci : !d.pci && nameOfDriver(d.name, r.driver);
    if (!device_ok) continue;
    if (r.any_option) return;
    std::string bad;
    for (const auto& kv : d.args) {
      // Named copies, not a structured binding: clang before 16 cannot capture those.
      const std::string& key = kv.first;
      const std::string& value = kv.second;
      const auto o = std::find_if(r.options.begin(), r.options.end(),
                                  [&](const DevargsRule::Option& o) { return o.key == key; });
      if (o == r.options.end()) {
        bad = "option " + key + " is not allowed";
      } else if (!allOf(value, isSafeValueChar)) {
        bad = "option " + key + ": value " + quotedValue(value) + " is not made of [A-Za-z0-9_.:-]";
      } else if (!o->patterns.empty() &&
                 std::none_of(o->patterns.begin(), o->patterns.end(),
                              [&](const std::string& p) { return patternMatches(p, value); })) {
        bad = "option " + key + "=" + value + " does not match " + o->key + "=";
        for (size_t i = 0; i < o->patterns.size(); ++i) bad += (i ? "|" : "") + o->patterns[i];
      }
      if (!bad.empty()) break;
    }
    if (bad.empty()) return;
    if (why.empty()) why = bad + " (dpdk-allow entry " + quotedValue(r.text) + ")";
  }
  if (why.empty()) {
    why = "device " + quotedValue(d.name) + " is not in the allow-list (dpdk-allow: ";
    for (size_t i = 0; i < rules.size(); ++i) why += (i ? ", " : "") + quotedValue(rules[i].text);
    why += ")";
  }
  fail("devargs", quotedValue(devargs) + " refused: " + why +
                      "; an admin widens dpdk-allow in the configuration file");
}

}  // namespace rtvs
