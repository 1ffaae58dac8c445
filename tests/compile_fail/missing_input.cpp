// expect: the first entry of a sequential must be strata::input
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::conv2d<4, 3>, st::dense<10>> net; }
