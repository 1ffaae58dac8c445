#include "train.hpp"

template int resnet_example::train<20>(const options&, std::ostream&);
