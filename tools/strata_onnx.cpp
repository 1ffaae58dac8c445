// strata-onnx model.onnx: prints the strata::sequential<...> type that matches
// an ONNX model (a chain of the operators strata maps), or the operators it
// cannot map, one per line on stderr (exit 1). load_onnx(file, net) then
// loads the file's weights into a network of that type.
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <strata/onnx/import.hpp>

int main(int argc, char** argv) {
    CLI::App app{"Prints the strata network type matching an ONNX model"};
    std::string file;
    app.add_option("model", file, "the .onnx file")->required();
    CLI11_PARSE(app, argc, argv);
    try {
        const auto m = strata::onnx::read_model(file);
        const auto d = strata::onnx::describe(m, file + ": ");
        if (!d.unsupported.empty()) {
            std::cerr << "strata-onnx: " << file << ": cannot map:\n";
            for (const auto& u : d.unsupported) std::cerr << "  " << u << "\n";
            return 1;
        }
        std::cout << d.type << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "strata-onnx: " << e.what() << "\n";
        return 1;
    }
}
