#include <atomic>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>
#include <strata/core/thread_pool.hpp>

namespace st = strata;

TEST_CASE("thread_pool runs every task exactly once, repeatedly") {
    st::thread_pool pool(st::threads{3});
    CHECK(pool.size() == 3);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::atomic<int>> hits(7);
        pool.run(7, [&](std::size_t i) { hits[i]++; });
        for (auto& h : hits) CHECK(h.load() == 1);
    }
}

TEST_CASE("thread_pool rethrows a task's exception and stays usable") {
    st::thread_pool pool(st::threads{2});
    CHECK_THROWS_WITH_AS(pool.run(4,
                                  [](std::size_t i) {
                                      if (i == 3) throw std::runtime_error("task 3 failed");
                                  }),
                         "task 3 failed", std::runtime_error);
    std::atomic<int> count = 0;
    pool.run(4, [&](std::size_t) { count++; });
    CHECK(count == 4);
}

TEST_CASE("a one-thread pool runs inline") {
    st::thread_pool pool(st::threads{1});
    int sum = 0;  // no synchronisation needed: all on this thread
    pool.run(5, [&](std::size_t i) { sum += int(i); });
    CHECK(sum == 10);
}
