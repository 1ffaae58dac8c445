// expect: pooling window is larger than its input
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::input<6, 6, 1>, st::conv2d<4, 3>, st::max_pool<2>, st::max_pool<3>> net; }
