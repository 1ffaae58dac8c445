// The precompiled header the test programs share (tests/CMakeLists.txt).
