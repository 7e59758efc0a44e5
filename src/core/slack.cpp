#include "gridbatch/slack.hpp"

namespace gridbatch {

const char* to_string(SlackMode mode) noexcept {
    return mode == SlackMode::single ? "single" : "distributed";
}

}  // namespace gridbatch
