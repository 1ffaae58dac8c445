"""Runs conanfile.py's own logic where Conan itself cannot be installed.

This machine reaches no PyPI, so `conan create .` cannot run here. A minimal
stand-in for the few `conan` names the recipe imports lets us execute its
methods and check what only the recipe decides: the version read from
CMakeLists.txt, the requirement ranges (they must admit Debian's and
ConanCenter's xtensor/xsimd), the packaged files (every public header, nothing
else) and the CMake names. Conan's own semantics are not exercised.

usage: check_conan_recipe.py <source dir> <installed include dir>
"""
import fnmatch
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import types


def stub_conan():
    conan = types.ModuleType("conan")

    class ConanFile:
        def __init__(self):
            self.requirements_seen, self.test_requirements_seen = [], []
            self.properties, self.info = {}, types.SimpleNamespace(clear=lambda: None)
            self.cpp_info = types.SimpleNamespace(set_property=lambda k, v: self.properties.__setitem__(k, v))

        def requires(self, ref, **traits):
            self.requirements_seen.append((ref, traits))

        def test_requires(self, ref, **traits):
            self.test_requirements_seen.append(ref)

    conan.ConanFile = ConanFile
    errors = types.ModuleType("conan.errors")
    errors.ConanInvalidConfiguration = type("ConanInvalidConfiguration", (Exception,), {})
    tools = types.ModuleType("conan.tools")
    build = types.ModuleType("conan.tools.build")
    build.check_min_cppstd = lambda conanfile, version: None
    files = types.ModuleType("conan.tools.files")
    files.load = lambda conanfile, path: open(path, encoding="utf-8").read()

    def copy(conanfile, pattern, src, dst):
        for root, _, names in os.walk(src):
            for name in names:
                path = os.path.join(root, name)
                if fnmatch.fnmatch(name, pattern):
                    target = os.path.join(dst, os.path.relpath(path, src))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copy(path, target)

    files.copy = copy
    layout = types.ModuleType("conan.tools.layout")
    layout.basic_layout = lambda conanfile, src_folder=".": None
    for name, module in {"conan": conan, "conan.errors": errors, "conan.tools": tools,
                         "conan.tools.build": build, "conan.tools.files": files,
                         "conan.tools.layout": layout}.items():
        sys.modules[name] = module


def in_range(version, ref):
    """True if `version` satisfies a `name/[>=a <b]` range (the only form we use)."""
    key = lambda v: tuple(int(p) for p in v.split("."))
    bounds = re.fullmatch(r"[\w-]+/\[>=([\d.]+) <([\d.]+)\]", ref)
    assert bounds, f"{ref}: expected name/[>=low <high]"
    return key(bounds.group(1)) <= key(version) < key(bounds.group(2))


def main():
    source, installed_include = sys.argv[1], sys.argv[2]
    stub_conan()
    spec = importlib.util.spec_from_file_location("recipe", os.path.join(source, "conanfile.py"))
    recipe_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe_module)
    recipe = recipe_module.StrataConan()
    recipe.recipe_folder = recipe.source_folder = source
    failures = []

    recipe.set_version()
    cmake_version = re.search(r"project\(strata VERSION ([\d.]+)", open(os.path.join(source, "CMakeLists.txt")).read())
    if recipe.version != cmake_version.group(1):
        failures.append(f"version {recipe.version} is not CMakeLists.txt's {cmake_version.group(1)}")
    if recipe.package_type != "header-library":
        failures.append(f"package_type is {recipe.package_type!r}, expected 'header-library'")

    recipe.requirements()
    refs = {ref.split("/")[0]: (ref, traits) for ref, traits in recipe.requirements_seen}
    admitted = {"xtensor": ["0.24.3", "0.24.7", "0.25.0"], "xsimd": ["8.1.0", "12.1.1", "13.0.0", "14.0.0"],
                "zlib": ["1.2.13", "1.3.1"]}
    # xtensor 0.26 moved its headers: our includes fail there.
    refused = {"xtensor": ["0.26.0"]}
    for name, versions in admitted.items():
        if name not in refs:
            failures.append(f"requirements: no {name}")
            continue
        ref, traits = refs[name]
        if not traits.get("transitive_headers"):
            failures.append(f"requirements: {name} needs transitive_headers=True (our headers include its headers)")
        failures += [f"requirements: {ref} does not admit {name} {v}" for v in versions if not in_range(v, ref)]
        failures += [f"requirements: {ref} admits {name} {v}, which strata does not build with"
                     for v in refused.get(name, []) if in_range(v, ref)]
    recipe.build_requirements()
    if not any(r.startswith("doctest/") for r in recipe.test_requirements_seen):
        failures.append("build_requirements: no test_requires on doctest")

    with tempfile.TemporaryDirectory() as package_folder:
        recipe.package_folder = package_folder
        recipe.package()
        packaged = {os.path.relpath(os.path.join(r, n), package_folder) for r, _, ns in os.walk(package_folder) for n in ns}
        expected = {os.path.join("include", os.path.relpath(os.path.join(r, n), installed_include))
                    for r, _, ns in os.walk(installed_include) for n in ns}
        failures += [f"package: {p} is installed by CMake but not packaged" for p in sorted(expected - packaged)]
        failures += [f"package: {p} is packaged but not installed by CMake" for p in sorted(packaged - expected)]

    recipe.settings = types.SimpleNamespace(os="Linux")
    recipe.package_info()
    for key, value in {"cmake_file_name": "strata", "cmake_target_name": "strata::strata"}.items():
        if recipe.properties.get(key) != value:
            failures.append(f"package_info: {key} is {recipe.properties.get(key)!r}, expected {value!r}")

    for failure in failures:
        print(f"conanfile.py: {failure}")
    print(f"conanfile.py: version {recipe.version}, {len(packaged)} headers, requires "
          + ", ".join(ref for ref, _ in recipe.requirements_seen))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
