#!/usr/bin/env python3
"""What data-parallel training over P machines should give: a latency-bandwidth
(alpha-beta) model of strata's step. Each step sums the gradients in one flat
buffer (ring all-reduce, after the backward pass, not overlapped with it) and,
with batch_norm, two small all-reduces per batch_norm layer (synchronised
statistics, forward and backward; recursive doubling, latency-bound).

  python3 benchmarks/allreduce_cost_model.py [--reference-ips 9000] [--resnet20-ips 415]

The per-machine speeds default to the 2-core figures in benchmarks/RESULTS.md
(one machine like this one); pass measured ones.
"""
import argparse
import math

# Links: per-message latency alpha (s) and achievable bandwidth beta (bytes/s).
# 10 Gbit/s Ethernet with TCP: ~30 us a message, ~90% of 1.25 GB/s.
# 100 Gbit/s InfiniBand/RoCE with RDMA: ~3 us, ~90% of 12.5 GB/s.
LINKS = {"10 Gbit/s": (30e-6, 1.125e9), "100 Gbit/s": (3e-6, 11.25e9)}

# Networks: trainable parameters (float32 gradients) and the channel counts of
# their batch_norm layers (each reduces 2C+1 doubles twice per step).
NETWORKS = {
    # conv32-pool-conv64-pool-dense128-dropout-dense10: 225,034 parameters, no batch_norm.
    "reference": (225_034, []),
    # strata::models::resnet<20>: 272,186 trainable parameters; 19 batch_norm
    # layers in the stages (7 x 16, 6 x 32, 6 x 64 channels) and 2 in the projection shortcuts.
    "resnet20": (272_186, [16] * 7 + [32] * 7 + [64] * 7),
}


def ring_allreduce(bytes_, machines, alpha, beta):
    if machines == 1:
        return 0.0
    return 2 * (machines - 1) * alpha + 2 * (machines - 1) / machines * bytes_ / beta


def small_allreduce(bytes_, machines, alpha, beta):
    if machines == 1:
        return 0.0
    return math.ceil(math.log2(machines)) * (alpha + bytes_ / beta)


def communication_seconds(network, machines, alpha, beta):
    parameters, batch_norm_channels = NETWORKS[network]
    t = ring_allreduce(4 * parameters, machines, alpha, beta)
    t += sum(2 * small_allreduce(8 * (2 * c + 1), machines, alpha, beta) for c in batch_norm_channels)
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-ips", type=float, default=9000.0,
                        help="training images/s of one machine on the reference network")
    parser.add_argument("--resnet20-ips", type=float, default=415.0,
                        help="training images/s of one machine on ResNet-20")
    parser.add_argument("--batch", type=int, default=64, help="per-machine batch for the efficiency column")
    parser.add_argument("--target", type=float, default=0.9, help="scaling efficiency to size batches for")
    args = parser.parse_args()
    speed = {"reference": args.reference_ips, "resnet20": args.resnet20_ips}
    print(f"efficiency = compute / (compute + communication) per step; per-machine batch {args.batch}; "
          f"'batch for {args.target:.0%}' is the per-machine batch that reaches it (global = x machines)")
    print(f"{'network':>9} {'link':>10} {'machines':>8} {'all-reduce ms':>13} {'efficiency':>10} "
          f"{'batch for ' + format(args.target, '.0%'):>14} {'global batch':>12} {'img/s':>9}")
    for network in NETWORKS:
        for link, (alpha, beta) in LINKS.items():
            for machines in (2, 4, 8, 16, 32, 64):
                comm = communication_seconds(network, machines, alpha, beta)
                compute = args.batch / speed[network]
                efficiency = compute / (compute + comm)
                # compute(b) = b / speed >= target / (1 - target) * comm
                needed = math.ceil(args.target / (1 - args.target) * comm * speed[network])
                throughput = machines * speed[network] * efficiency
                print(f"{network:>9} {link:>10} {machines:>8} {1e3 * comm:>13.3f} {efficiency:>10.1%} "
                      f"{needed:>14} {needed * machines:>12} {throughput:>9.0f}")


if __name__ == "__main__":
    main()
