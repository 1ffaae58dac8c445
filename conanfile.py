# Conan 2 recipe: `conan create .` packages the headers and runs test_package/.
# The version is the CMake project's, so there is one place to bump it.
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class StrataConan(ConanFile):
    name = "strata"
    description = "Compile-time convolutional networks in C++20: build, train and diagnose CNNs"
    topics = ("deep-learning", "cnn", "neural-network", "header-only", "simd")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    exports_sources = "include/*"
    no_copy_source = True

    def set_version(self):
        cmake_lists = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        match = re.search(r"project\(\s*strata\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", cmake_lists)
        if not match:
            raise ConanInvalidConfiguration("CMakeLists.txt: expected `project(strata VERSION x.y.z ...)`")
        self.version = match.group(1)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        # The whole suite passes on Debian bookworm's xtensor 0.24.3 with xsimd 8.1 and
        # on xtensor 0.24.7/0.25.0 with xsimd 12.1, 13.0 and 14.0; core/simd.hpp bridges
        # xsimd. xtensor 0.26 moved its headers, so it stays out.
        self.requires("xtensor/[>=0.24.3 <0.26]", transitive_headers=True)
        self.requires("xsimd/[>=8.1.0 <15]", transitive_headers=True)
        # data/idx.hpp reads gzipped IDX files.
        self.requires("zlib/[>=1.2.11 <2]", transitive_headers=True)

    def build_requirements(self):
        self.test_requires("doctest/[>=2.4.9 <3]")

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)

    def package(self):
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"),
             dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "strata")
        self.cpp_info.set_property("cmake_target_name", "strata::strata")
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread", "m"]
