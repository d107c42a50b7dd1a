// otp::cluster::render_metrics: a StatsSnapshot (stats_snapshot.hpp) in the Prometheus text
// exposition format (version 0.0.4), what GET /metrics of the HTTP endpoint (http_endpoint.hpp)
// returns. Every metric is named otp_*, has HELP and TYPE lines, counters end in _total, and
// per-peer / per-reason / per-state values are labels. docs/operations.md lists them all.
//
// clang-format off
//   std::string text = otp::cluster::render_metrics(otp::cluster::take_snapshot(node, *cluster));
//   // # HELP otp_processes Live processes on this node.
//   // # TYPE otp_processes gauge
//   // otp_processes 12
//   // ...
//   // otp_link_bytes_sent_total{peer="b@10.0.0.2"} 48213
// clang-format on
#pragma once

#include <string>
#include <string_view>

#include "otp/cluster/stats_snapshot.hpp"

namespace otp::cluster {

/// The Content-Type of render_metrics' text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// The snapshot as Prometheus text (see above), ending in a newline.
std::string render_metrics(const StatsSnapshot& snapshot);

/// A label value escaped for the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

}  // namespace otp::cluster
