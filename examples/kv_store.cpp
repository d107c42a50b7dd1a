#include "kv_store.hpp"

#include <nlohmann/json.hpp>

namespace kv {

namespace {

struct Put {
  std::string key;
  std::string value;
};
struct Get {
  std::string key;
};
struct Dump {};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Put, key, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Get, key)

class Store : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const Put& p) {
          data_[p.key] = p.value;
          return otp::reply(otp::Ok{});
        },
        [&](const Get& g) {
          auto it = data_.find(g.key);
          return otp::reply(it == data_.end() ? nlohmann::json() : nlohmann::json(it->second));
        },
        [&](const Dump&) { return otp::reply(nlohmann::json(data_)); });
  }

 private:
  std::map<std::string, std::string> data_;
};

otp::ServerRef store() {
  return otp::global_name(service_name);
}

}  // namespace

void register_types() {
  otp::register_remote_type<Put>("kv.put");
  otp::register_remote_type<Get>("kv.get");
  otp::register_remote_type<Dump>("kv.dump");
}

otp::Result<otp::Pid> start(otp::Node& node) {
  return otp::gen_server::start<Store>(node, otp::name(otp::global_name(service_name)));
}

otp::Result<void> put(otp::Node& node, const std::string& key, const std::string& value) {
  auto done = otp::gen_server::call<otp::Ok>(node, store(), Put{key, value});
  if (!done) return done.error();
  return {};
}

otp::Result<std::optional<std::string>> get(otp::Node& node, const std::string& key) {
  auto value = otp::gen_server::call<nlohmann::json>(node, store(), Get{key});
  if (!value) return value.error();
  if (value->is_null()) return std::optional<std::string>();
  return std::optional<std::string>(value->get<std::string>());
}

otp::Result<std::map<std::string, std::string>> dump(otp::Node& node) {
  auto all = otp::gen_server::call<nlohmann::json>(node, store(), Dump{});
  if (!all) return all.error();
  return all->get<std::map<std::string, std::string>>();
}

}  // namespace kv
