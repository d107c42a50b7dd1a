// The process-wide table of message types that may cross nodes (otp/remote_type.hpp).
#include "otp/remote_type.hpp"

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <typeindex>
#include <unordered_map>

#include "remote_types.hpp"

namespace otp {

namespace {

struct Table {
  std::shared_mutex mx;
  std::unordered_map<std::type_index, std::shared_ptr<const detail::RemoteTypeCodec>> by_type;
  std::unordered_map<std::string, std::shared_ptr<const detail::RemoteTypeCodec>> by_name;
};

void add(Table& t, const std::type_info& type, detail::RemoteTypeCodec codec) {
  std::unique_lock g(t.mx);
  auto by_type = t.by_type.find(type);
  auto by_name = t.by_name.find(codec.name);
  if (by_type != t.by_type.end() && by_name != t.by_name.end() &&
      by_type->second == by_name->second)
    return;  // the same registration again
  if (by_type != t.by_type.end())
    throw std::logic_error("register_remote_type: " + type_name(type) +
                           " is already registered as '" + by_type->second->name + "'");
  if (by_name != t.by_name.end())
    throw std::logic_error("register_remote_type: the name '" + codec.name +
                           "' is already taken by another type");
  auto shared = std::make_shared<const detail::RemoteTypeCodec>(std::move(codec));
  t.by_type.emplace(type, shared);
  t.by_name.emplace(shared->name, shared);
}

template <class T>
void add_plain(Table& t, const char* name) {
  detail::RemoteTypeCodec c;
  c.name = name;
  c.encode = [](const Message& m) { return nlohmann::json(m.get<T>()); };
  c.decode = [](const nlohmann::json& j) { return Message(j.get<T>()); };
  add(t, typeid(T), std::move(c));
}

Table& table() {
  static Table* t = [] {
    auto* t = new Table;  // never destroyed: used by threads that may outlive static destructors
    add_plain<int>(*t, "int");
    add_plain<int64_t>(*t, "int64");
    add_plain<uint64_t>(*t, "uint64");
    add_plain<double>(*t, "double");
    add_plain<bool>(*t, "bool");
    add_plain<std::string>(*t, "string");
    add_plain<Pid>(*t, "pid");
    detail::RemoteTypeCodec json;
    json.name = "json";
    json.encode = [](const Message& m) { return m.get<nlohmann::json>(); };
    json.decode = [](const nlohmann::json& j) { return Message(j); };
    add(*t, typeid(nlohmann::json), std::move(json));
    detail::RemoteTypeCodec ok;
    ok.name = "ok";
    ok.encode = [](const Message&) { return nlohmann::json::object(); };
    ok.decode = [](const nlohmann::json&) { return Message(Ok{}); };
    add(*t, typeid(Ok), std::move(ok));
    return t;
  }();
  return *t;
}

}  // namespace

namespace detail {

void register_remote_codec(const std::type_info& type, RemoteTypeCodec codec) {
  add(table(), type, std::move(codec));
}

std::shared_ptr<const RemoteTypeCodec> remote_codec(const std::type_info& type) {
  auto& t = table();
  std::shared_lock g(t.mx);
  auto it = t.by_type.find(type);
  return it == t.by_type.end() ? nullptr : it->second;
}

std::shared_ptr<const RemoteTypeCodec> remote_codec(const std::string& name) {
  auto& t = table();
  std::shared_lock g(t.mx);
  auto it = t.by_name.find(name);
  return it == t.by_name.end() ? nullptr : it->second;
}

}  // namespace detail

}  // namespace otp
