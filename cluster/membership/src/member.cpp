#include "otp/membership/member.hpp"

#include <iterator>

namespace otp::membership {

const char* to_string(MemberState state) {
  switch (state) {
    case MemberState::alive:
      return "alive";
    case MemberState::suspect:
      return "suspect";
    case MemberState::failed:
      return "failed";
    case MemberState::left:
      return "left";
  }
  return "unknown";
}

const char* to_string(EventKind kind) {
  switch (kind) {
    case EventKind::joined:
      return "joined";
    case EventKind::suspect:
      return "suspect";
    case EventKind::alive:
      return "alive";
    case EventKind::failed:
      return "failed";
    case EventKind::left:
      return "left";
    case EventKind::updated:
      return "updated";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, const Event& e) {
  return os << to_string(e.kind) << ' ' << e.member.id << " inc " << e.member.incarnation;
}

void Output::append(Output&& other) {
  if (packets.empty()) {
    packets = std::move(other.packets);
  } else {
    packets.insert(packets.end(), std::make_move_iterator(other.packets.begin()),
                   std::make_move_iterator(other.packets.end()));
  }
  if (events.empty()) {
    events = std::move(other.events);
  } else {
    events.insert(events.end(), std::make_move_iterator(other.events.begin()),
                  std::make_move_iterator(other.events.end()));
  }
}

}  // namespace otp::membership
