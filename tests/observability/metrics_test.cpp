// render_metrics: names, labels and values of a hand-made snapshot, the text format's structure
// (HELP and TYPE before each family's samples, counters ending in _total), label escaping, and
// promtool's own check of the text (the test fails when promtool is missing: it is installed by
// scripts/install-deps.sh, package prometheus).
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "otp/cluster/metrics.hpp"
#include "support/promtool.hpp"

namespace otp::cluster {
namespace {

StatsSnapshot example() {
  StatsSnapshot s;
  s.node = "a@127.0.0.1";
  s.runtime = NodeStats{.processes = 3, .messages_handled = 10, .calls_handled = 4, .run_queue = 2};
  s.transport.links_up = 1;
  s.transport.dialers = 2;
  s.transport.rejected[static_cast<size_t>(protocol::RejectReason::bad_mac)] = 2;
  s.transport.handshake_timeouts = 1;
  s.transport.frames_dropped = 5;
  s.transport.links.push_back(LinkStats{.peer = {"b", "127.0.0.1", 2},
                                        .bytes_in = 200,
                                        .bytes_out = 100,
                                        .queued_bytes = 64,
                                        .queued_messages = 1});
  s.gossip = true;
  s.members_by_state = {2, 1, 0, 0};
  s.membership.dropped_bad_mac = 7;
  s.membership.suspicions_started = 3;
  s.membership_driver.stream_failures = 4;
  s.global_names.names = 3;
  s.global_names.counters.conflicts = 1;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

TEST(RenderMetrics, CarriesEveryLayersValuesWithTheirLabels) {
  const std::string text = render_metrics(example());
  for (const char* line : {
           "otp_node_info{node=\"a@127.0.0.1\"} 1",
           "otp_leaving 0",
           "otp_processes 3",
           "otp_messages_handled_total 10",
           "otp_calls_handled_total 4",
           "otp_run_queue 2",
           "otp_links_up 1",
           "otp_dialers 2",
           "otp_link_bytes_received_total{peer=\"b@127.0.0.1\"} 200",
           "otp_link_bytes_sent_total{peer=\"b@127.0.0.1\"} 100",
           "otp_link_queued_bytes{peer=\"b@127.0.0.1\"} 64",
           "otp_link_queued_messages{peer=\"b@127.0.0.1\"} 1",
           "otp_handshakes_rejected_total{reason=\"bad_mac\"} 2",
           "otp_handshakes_rejected_total{reason=\"cluster_mismatch\"} 0",
           "otp_handshakes_rejected_total{reason=\"timeout\"} 1",
           "otp_frames_rejected_total{reason=\"undecodable\"} 5",
           "otp_members{state=\"alive\"} 2",
           "otp_members{state=\"suspect\"} 1",
           "otp_members{state=\"left\"} 0",
           "otp_suspicions_total 3",
           "otp_gossip_packets_dropped_total{reason=\"bad_mac\"} 7",
           "otp_gossip_errors_total{kind=\"stream\"} 4",
           "otp_global_names 3",
           "otp_global_conflicts_total 1",
       }) {
    EXPECT_TRUE(has_line(text, line)) << "missing: " << line << "\nin:\n" << text;
  }
}

TEST(RenderMetrics, EveryFamilyHasHelpAndTypeBeforeItsSamplesAndCountersEndInTotal) {
  const std::string text = render_metrics(example());
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helped;
  size_t samples = 0;
  for (const auto& l : lines_of(text)) {
    ASSERT_FALSE(l.empty());
    if (l.rfind("# HELP ", 0) == 0) {
      helped.insert(l.substr(7, l.find(' ', 7) - 7));
    } else if (l.rfind("# TYPE ", 0) == 0) {
      const auto name_end = l.find(' ', 7);
      const std::string name = l.substr(7, name_end - 7);
      EXPECT_TRUE(helped.count(name)) << "TYPE before HELP: " << l;
      EXPECT_TRUE(types.emplace(name, l.substr(name_end + 1)).second) << "twice: " << name;
    } else {
      const std::string name = l.substr(0, l.find_first_of("{ "));
      ASSERT_TRUE(types.count(name)) << "sample without TYPE: " << l;
      EXPECT_EQ(name.rfind("otp_", 0), 0u) << l;
      if (types[name] == "counter") {
        EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << l;
      }
      ++samples;
    }
  }
  EXPECT_GT(samples, 40u);
}

TEST(RenderMetrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  StatsSnapshot s = example();
  s.node = "we\"ird";
  EXPECT_TRUE(has_line(render_metrics(s), "otp_node_info{node=\"we\\\"ird\"} 1"));
}

TEST(RenderMetrics, AnEmptySnapshotStillHasEveryUnlabelledFamily) {
  const std::string text = render_metrics(StatsSnapshot{});
  EXPECT_TRUE(has_line(text, "otp_processes 0"));
  EXPECT_TRUE(has_line(text, "# TYPE otp_link_bytes_sent_total counter"));
  EXPECT_TRUE(has_line(text, "otp_members{state=\"alive\"} 0"));
}

TEST(RenderMetrics, PromtoolAcceptsTheText) {
  const auto verdict = otp_test::promtool_check_metrics(render_metrics(example()));
  EXPECT_TRUE(verdict.ok) << verdict.output;
}

}  // namespace
}  // namespace otp::cluster
