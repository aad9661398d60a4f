#include "tg/io/error.h"

#include "text.h"

namespace tg::io {

std::string printable(std::string_view s) { return detail::printable(s); }

}  // namespace tg::io
