// runs on a PMD thread: no locks, syscalls, allocation or logging
#include <rte_version.h>

namespace rtvs {
const char* dpdkVersion() noexcept { return rte_version(); }
}  // namespace rtvs
