// Message's out-of-line parts: readable type names, the bad-type exception, match's errors.
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "otp/message.hpp"

namespace otp {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  std::string name = status == 0 && demangled ? demangled.get() : type.name();
  if (name.rfind("std::__cxx11::basic_string<char", 0) == 0) return "std::string";
  if (name.rfind("nlohmann::json_abi", 0) == 0 && name.find("basic_json<") != std::string::npos)
    return "nlohmann::json";
  return name;
}

BadMessageType::BadMessageType(std::string expected, std::string actual)
    : what_("bad message type: expected " + expected + ", got " + actual) {}

namespace detail {
void throw_void_clause(const std::type_info& type) {
  throw std::logic_error("Message::match: the clause for " + otp::type_name(type) +
                         " returned nothing (a clause that returns void must throw)");
}
}  // namespace detail

std::string Message::type_name() const {
  return value_ ? otp::type_name(value_->type()) : std::string("empty");
}

}  // namespace otp
