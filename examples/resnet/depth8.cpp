#include "train.hpp"

template int resnet_example::train<8>(const options&, std::ostream&);
