// expect: residual: the block changes the shape
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    st::sequential<st::input<8, 8, 2>, st::residual<st::conv2d<4, 3, st::same, st::stride<2>>>, st::flatten,
                   st::dense<2>>
        net;
}
