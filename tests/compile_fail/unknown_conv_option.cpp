// expect: conv2d options are stride<S>, valid or same
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3, st::relu, int>> net; }
