// expect: conv2d kernel is larger than its input with valid padding
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::input<4, 4, 1>, st::conv2d<8, 5>> net; }
