#include "train.hpp"

template int resnet_example::train<14>(const options&, std::ostream&);
