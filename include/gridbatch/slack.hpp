// How a power flow balances generation against load and losses: MATPOWER's reference bus alone,
// or the generators sharing the imbalance in proportion to participation factors. DcOptions and
// AcOptions take a SlackMode and the factors, with the same meaning.
#pragma once

#include <cstdint>

namespace gridbatch {

enum class SlackMode : std::uint8_t {
    // MATPOWER's: the first active generator at each reference bus takes its island's balance.
    single,
    // Each island's balance is shared by its active generators in proportion to participation
    // factors (default: Pmax); reference buses only fix the angle.
    distributed,
};
const char* to_string(SlackMode mode) noexcept;

}  // namespace gridbatch
