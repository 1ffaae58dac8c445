// expect: conv2d expects an image input
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::input<8, 8, 1>, st::flatten, st::conv2d<4, 3>> net; }
