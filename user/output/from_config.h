// Building the output pipeline the configuration describes.
#pragma once

#include <memory>
#include <string>

#include "policy/expected.h"
#include "user/config/config.h"
#include "user/output/dispatcher.h"

namespace pg::user::output {

// The dispatcher with one sink per enabled *_output section, not yet
// started. Errors name the section and what to fix (e.g. a file output
// whose directory does not exist). `stdout_fd` is where the stdout sink
// writes (1 in the daemon).
Expected<std::unique_ptr<Dispatcher>, std::string> make_dispatcher(const config::Config& cfg,
                                                                   int stdout_fd = 1);

}  // namespace pg::user::output
