// Brief busy-waiting before a thread sleeps: on a VM a wake-up through a
// futex or condition variable costs tens of microseconds, longer than most
// of the waits between threads of one training step.
#pragma once

#include <chrono>

namespace strata::detail {

// Polls ready() for about `budget`; false if it never became true.
template <class Ready>
bool spin_until(Ready ready, std::chrono::microseconds budget = std::chrono::microseconds(100)) {
    using clock = std::chrono::steady_clock;
    const auto give_up = clock::now() + budget;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (clock::now() > give_up) return ready();
    }
}

}  // namespace strata::detail
