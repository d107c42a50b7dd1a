// ServerRef's printing, for errors and logs.
#include <string>

#include "otp/server_ref.hpp"

namespace otp {

std::string ServerRef::to_string() const {
  if (const Pid* p = pid()) return p->to_string();
  if (const std::string* n = local_name()) return *n;
  if (const RemoteName* r = remote_name()) return "{" + r->name + ", " + r->node + "}";
  if (const GlobalName* g = global_name()) return "{global, " + g->name + "}";
  const ViaName& v = *via_name();
  return "{via, " + (v.registry ? v.registry->describe() : "Registry " + v.registry_name) + ", " +
         v.key.to_string() + "}";
}

}  // namespace otp
