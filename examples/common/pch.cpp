// The precompiled header the examples share (strata, CLI11, nlohmann-json):
// parsing them is about 8 s of each example's compile.
