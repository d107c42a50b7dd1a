#include "bounded_parser.hpp"

#include <exception>
#include <optional>
#include <string>

namespace otp::protocol::detail {
namespace {

using nlohmann::json;

/// Forwards every event to nlohmann's DOM builder, counting depth.
class BoundedSax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  BoundedSax(json& root, size_t max_depth) : dom_(root, false), max_depth_(max_depth) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return dom_.number_float(v, s); }
  bool string(string_t& v) { return dom_.string(v); }
  bool binary(binary_t&) {
    return fail(ErrorCode::malformed, "binary values are not JSON-compatible");
  }
  bool start_object(size_t n) { return enter() && dom_.start_object(n); }
  bool key(string_t& k) { return dom_.key(k); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    return fail(ErrorCode::malformed, e.what());
  }

  const std::optional<Error>& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      return fail(ErrorCode::too_deep, "nesting deeper than " + std::to_string(max_depth_));
    }
    return true;
  }
  bool fail(ErrorCode code, std::string message) {
    if (!error_) error_ = Error{code, std::move(message)};
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  size_t max_depth_;
  size_t depth_ = 0;
  std::optional<Error> error_;
};

}  // namespace

Result<json> parse_bounded(std::span<const uint8_t> bytes, Syntax syntax, size_t max_depth) {
  try {
    json root;
    BoundedSax sax(root, max_depth);
    const auto format =
        syntax == Syntax::msgpack ? json::input_format_t::msgpack : json::input_format_t::json;
    const bool ok = json::sax_parse(bytes.begin(), bytes.end(), &sax, format, /*strict=*/true);
    if (!ok || sax.error()) {
      if (sax.error()) return *sax.error();
      return Error{ErrorCode::malformed, "parse failed"};
    }
    if (root.is_discarded()) return Error{ErrorCode::malformed, "parse failed"};
    return root;
  } catch (const std::exception& e) {
    return Error{ErrorCode::malformed, e.what()};
  } catch (...) {
    return Error{ErrorCode::internal, "unknown exception while parsing"};
  }
}

}  // namespace otp::protocol::detail
