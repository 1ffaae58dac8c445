// expect: dense expects a flat input: put strata::flatten
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3>, st::dense<10>> net; }
