// expect: concat: every branch must give the same height and width
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    st::sequential<st::input<8, 8, 2>, st::concat<st::conv2d<4, 3>, st::conv2d<4, 1>>, st::flatten,
                   st::dense<2>>
        net;
}
