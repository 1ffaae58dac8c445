// expect: dense options are use_bias
#include <strata/strata.hpp>
namespace st = strata;
int main() { st::sequential<st::input<8>, st::dense<4, st::relu, st::same>, st::dense<2>> net; }
