#include "energy/powercap.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"

namespace tb::energy {

namespace {

bool parse_hex_int(const std::string& s, int* out) {
  if (s.empty() || s.size() > 7) return false;
  int v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;  // the kernel prints lower-case hex ("%x")
    v = v * 16 + d;
  }
  *out = v;
  return true;
}

}  // namespace

std::string powercap_permission_fix() {
  return "Since Linux 5.10 energy_uj is readable by root only (CVE-2020-8694, \"Platypus\"). Fix: run as root; "
         "or, until reboot, sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj; or for good, a udev rule: "
         "echo 'SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod a+r /sys%p/energy_uj\"' | "
         "sudo tee /etc/udev/rules.d/99-rapl-read.rules, then reload the driver or reboot";
}

bool parse_powercap_zone_id(const std::string& id, const std::string& prefix, int* index, int* subzone) {
  if (id.compare(0, prefix.size() + 1, prefix + ":") != 0) return false;
  const std::string rest = id.substr(prefix.size() + 1);
  const size_t colon = rest.find(':');
  int p = -1, s = -1;
  if (!parse_hex_int(rest.substr(0, colon), &p)) return false;
  if (colon != std::string::npos && !parse_hex_int(rest.substr(colon + 1), &s)) return false;
  *index = p;
  *subzone = s;
  return true;
}

PowercapMeter::PowercapMeter(std::string root) : root_(std::move(root)) {
  try {
    probe();
  } catch (const Error& e) {
    why_not_ = e.what();
    counters_.clear();
    files_.clear();
  }
  if (why_not_.empty() && counters_.empty()) why_not_ = "no readable zones under " + root_;
}

void PowercapMeter::probe() {
  if (!path_exists(root_))
    throw Error(root_ + " does not exist: this kernel has no powercap framework (not Linux, or CONFIG_POWERCAP off)");
  std::vector<std::string> mmio;
  for (const std::string& id : list_dir(root_)) {
    int p, s;
    if (parse_powercap_zone_id(id, "intel-rapl-mmio", &p, &s)) {
      mmio.push_back(id);
      continue;
    }
    if (!parse_powercap_zone_id(id, "intel-rapl", &p, &s)) continue;
    PowercapZone z;
    z.id = id;
    z.index = p;
    z.subzone = s;
    zones_.push_back(z);
  }
  if (zones_.empty()) {
    std::string m = "no intel-rapl:* zones under " + root_ +
                    ": the RAPL driver is not loaded (sudo modprobe intel_rapl_msr; it serves Intel and AMD Zen) "
                    "or this machine exposes no RAPL (most VMs)";
    if (!mmio.empty()) m += "; only the intel-rapl-mmio interface is present, which this tool does not read";
    throw Error(m);
  }
  std::sort(zones_.begin(), zones_.end(), [](const PowercapZone& a, const PowercapZone& b) {
    return a.index != b.index ? a.index < b.index : a.subzone < b.subzone;
  });

  // Top-level zones first: they say which indices are packages and which are platform zones (psys).
  std::vector<int> platform_indices;
  for (PowercapZone& z : zones_) {
    const std::string dir = root_ + "/" + z.id;
    z.name = trim(read_text_file(dir + "/name"));
    if (z.name.empty()) throw Error(dir + "/name is empty; the powercap tree is malformed");
    if (z.subzone >= 0) continue;
    if (z.name.compare(0, 7, "package") == 0) {
      z.domain = "package";
      z.package = z.index;
      // "package-N" (or "package-N-die-M"): N is the kernel's package id; the zone index is what we key on.
      const std::string want = "package-" + std::to_string(z.index);
      if (z.name.compare(0, want.size(), want) != 0)
        notes_.push_back(z.id + " is named \"" + z.name + "\"; reported as package " + std::to_string(z.index) +
                         " (its zone index)");
    } else {
      z.domain = z.name;  // "psys", or something newer: its own platform-wide domain
      z.package = -1;
      platform_indices.push_back(z.index);
      if (z.name != "psys")
        notes_.push_back(z.id + " (\"" + z.name + "\") is a top-level zone that is not a package: reported as its "
                         "own domain, not added to package");
    }
  }
  for (PowercapZone& z : zones_) {
    if (z.subzone < 0) continue;
    z.domain = z.name;
    const bool under_platform =
        std::find(platform_indices.begin(), platform_indices.end(), z.index) != platform_indices.end();
    z.package = under_platform ? -1 : z.index;
  }

  const std::string fix = powercap_permission_fix();
  for (PowercapZone& z : zones_) {
    const std::string dir = root_ + "/" + z.id;
    z.max_energy_range_uj = parse_u64(read_text_file(dir + "/max_energy_range_uj"), dir + "/max_energy_range_uj");
    if (z.max_energy_range_uj == 0)
      throw Error(dir + "/max_energy_range_uj is 0: a counter cannot wrap at 0; the powercap tree is malformed");
    files_.emplace_back(dir + "/energy_uj", fix);
    const uint64_t now = files_.back().read_u64();  // also the permission check: EACCES surfaces here
    if (now > z.max_energy_range_uj)
      throw Error(dir + "/energy_uj reads " + std::to_string(now) + ", above max_energy_range_uj " +
                  std::to_string(z.max_energy_range_uj) + "; the powercap tree is malformed");
  }
  for (size_t i = 0; i < zones_.size(); ++i) {
    const PowercapZone& z = zones_[i];
    Counter c;
    c.domain = z.domain;
    c.package = z.package;
    c.joules_per_count = 1e-6;
    c.modulus = z.max_energy_range_uj + 1;
    c.source = files_[i].path();
    const SysfsValue* f = &files_[i];  // files_ is not resized after this point
    c.read = [f] { return f->read_u64(); };
    counters_.push_back(std::move(c));
  }
  for (const std::string& id : mmio) {
    std::string nm;
    try {
      nm = " (\"" + trim(read_text_file(root_ + "/" + id + "/name")) + "\")";
    } catch (const Error&) {
    }
    notes_.push_back(id + nm + " is the MMIO interface to the same package counters; not read, not added");
  }
  set_domains_from_counters();
}

}  // namespace tb::energy
