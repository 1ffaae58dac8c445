// Uses two optional parts of an installed strata: a model file written and
// read back (strata::model_file), and a data-parallel fit over one MPI
// process (strata::mpi), run with --mpi under mpiexec.
#include <cstring>
#include <filesystem>
#include <iostream>

#include <strata/distributed/mpi.hpp>
#include <strata/model/model_file.hpp>
#include <strata/strata.hpp>

namespace st = strata;
using net_t = st::sequential<st::input<4>, st::dense<3, st::relu>, st::dense<2>>;

int main(int argc, char** argv) {
    net_t net{st::seed{1}};
    if (argc > 1 && std::strcmp(argv[1], "--mpi") == 0) {
        st::mpi_session session(argc, argv);
        st::mpi_communicator comm;
        st::data::dataset<float> d;
        d.x = xt::xtensor<float, 4>::from_shape({8, 1, 1, 4});
        d.y = xt::xtensor<float, 2>::from_shape({8, 1});
        for (std::size_t i = 0; i < d.x.size(); ++i) d.x.data()[i] = float(i % 5) / 5;
        for (std::size_t i = 0; i < 8; ++i) d.y.data()[i] = float(i % 2);
        const auto h = st::fit(net, d, st::loss::sparse_categorical_crossentropy{.from_logits = true},
                               st::optim::sgd{}, st::batch_size{4}, st::threads{1}, st::distributed{comm});
        std::cout << "mpi: " << comm.size() << " process(es), loss " << h.epochs.back().loss << "\n";
        return h.epochs.size() == 1 ? 0 : 1;
    }
    const auto file = std::filesystem::temp_directory_path() / "strata_components_consumer.strata";
    st::save(net, file);
    net_t loaded;
    st::load(loaded, file);
    std::filesystem::remove(file);
    const bool same =
        std::equal(net.parameters().begin(), net.parameters().end(), loaded.parameters().begin());
    std::cout << "model file: " << (same ? "read back" : "differs") << "\n";
    return same ? 0 : 1;
}
